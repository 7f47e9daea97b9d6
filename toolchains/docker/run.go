package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DefaultStopTimeout is how long a container gets to exit after SIGTERM
// before the engine kills it; it stays below procman's own stop timeout so
// the container is gone before procman kills the runner.
const DefaultStopTimeout = 10 * time.Second

// hostOnly reports variables of a process's environment that describe the
// host, not the app: they do not reach the container.
func hostOnly(key string) bool {
	switch key {
	case "PATH", "HOME", "NUA_DATA_DIR", "PWD", "SHLVL", "_":
		return true
	}
	return false
}

// RunConfig is one process instance to run as a container.
type RunConfig struct {
	Type        string   // the process type, "web"
	Args        []string // the command to run instead of the type's (a one-off)
	Dir         string   // the slug, which holds the manifest
	Env         []string // the process's environment (PORT, PS, config)
	Stdout      io.Writer
	Stderr      io.Writer
	StopTimeout time.Duration // 0 = DefaultStopTimeout
	// Reaper is the command line (program and arguments) of a process that
	// removes the container, given its ID as a last argument, once its
	// stdin closes: when this runner is gone, however it died.
	Reaper []string
	// Stdin, for a one-off, is copied to the command's stdin until it
	// ends; nil gives the command none.
	Stdin io.Reader
	// TTY gives a one-off a terminal: its output all comes on Stdout, and
	// each size from Sizes (the first one too) resizes the terminal.
	TTY   bool
	Sizes <-chan Size
	// Limits bound the container's memory, CPU and tasks; zero fields
	// take the defaults.
	Limits Limits
}

// Size is a terminal's size in characters.
type Size struct{ Width, Height int }

// Run runs one process instance as a container until it exits or ctx
// ends; then the container is stopped (SIGTERM, killed after the stop
// timeout) and removed. It returns the container's exit code.
func Run(ctx context.Context, cfg RunConfig) (int, error) {
	if err := cfg.Limits.Validate(); err != nil {
		return 0, fmt.Errorf("container-run: %w", err)
	}
	m, err := readManifest(cfg.Dir)
	if err != nil {
		return 0, fmt.Errorf("container-run: %w (is this a Dockerfile app's slug?)", err)
	}
	c, err := newClient(m.Host)
	if err != nil {
		return 0, err
	}
	spec := containerSpecFor(m, cfg)
	if abs, err := filepath.Abs(cfg.Dir); err == nil {
		spec.Labels[slugLabel] = abs // Remove waits for these to go
	}
	var first *Size
	if spec.Tty && cfg.Sizes != nil {
		select { // the terminal's size, known from the start
		case sz := <-cfg.Sizes:
			first = &sz
			spec.HostConfig.ConsoleSize = &[2]uint{uint(sz.Height), uint(sz.Width)}
		case <-time.After(100 * time.Millisecond):
		}
	}
	id, err := c.create(context.WithoutCancel(ctx), containerName(cfg.Env), spec)
	if err != nil {
		return 0, fmt.Errorf("create container: %w", err)
	}
	bg := context.WithoutCancel(ctx)
	defer c.remove(bg, id)
	if len(cfg.Reaper) > 0 {
		stop, err := startReaper(cfg.Reaper, id)
		if err != nil {
			return 0, err
		}
		defer stop()
	}
	logsDone := make(chan struct{})
	if spec.OpenStdin {
		conn, out, err := c.attach(bg, id)
		if err != nil {
			return 0, fmt.Errorf("attach to container: %w", err)
		}
		defer conn.Close()
		if first != nil { // podman resizes a created container, Docker a running one
			c.resize(bg, id, first.Width, first.Height)
		}
		if err := c.start(bg, id); err != nil {
			return 0, fmt.Errorf("start container: %w", err)
		}
		go func() {
			io.Copy(conn, cfg.Stdin)
			if cw, ok := conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite() // the command sees the end of its stdin
			}
		}()
		go func() {
			defer close(logsDone)
			if cfg.TTY {
				io.Copy(cfg.Stdout, out)
			} else {
				demux(out, cfg.Stdout, cfg.Stderr)
			}
		}()
		if first != nil {
			c.resize(bg, id, first.Width, first.Height)
		}
		if cfg.TTY && cfg.Sizes != nil {
			go func() {
				for sz := range cfg.Sizes {
					c.resize(bg, id, sz.Width, sz.Height)
				}
			}()
		}
	} else {
		if err := c.start(bg, id); err != nil {
			return 0, fmt.Errorf("start container: %w", err)
		}
		go func() {
			defer close(logsDone)
			c.logs(bg, id, cfg.Stdout, cfg.Stderr)
		}()
	}
	type result struct {
		code int
		err  error
	}
	waited := make(chan result, 1)
	go func() {
		code, err := c.wait(bg, id)
		waited <- result{code, err}
	}()
	var res result
	select {
	case res = <-waited:
	case <-ctx.Done():
		timeout := cfg.StopTimeout
		if timeout <= 0 {
			timeout = DefaultStopTimeout
		}
		if err := c.stop(bg, id, timeout); err != nil {
			return 0, fmt.Errorf("stop container: %w", err)
		}
		res = <-waited
	}
	select {
	case <-logsDone:
	case <-time.After(2 * time.Second):
	}
	return res.code, res.err
}

// containerSpecFor is the container of one process instance.
func containerSpecFor(m Manifest, cfg RunConfig) containerSpec {
	spec := containerSpec{
		Image:      m.Image,
		Env:        containerEnv(cfg.Env),
		Labels:     map[string]string{"nua.app": getenv(cfg.Env, "NUA_APP"), "nua.ps": getenv(cfg.Env, "PS"), "nua.release": getenv(cfg.Env, "NUA_RELEASE")},
		HostConfig: hostConfigFor(cfg.Limits),
	}
	if cmd, ok := m.Commands[cfg.Type]; ok {
		spec.Entrypoint, spec.Cmd = m.Launcher, []string{"/bin/sh", "-c", cmd}
	} else if ep, ok := m.Processes[cfg.Type]; ok {
		spec.Entrypoint = ep
	}
	if len(cfg.Args) > 0 {
		spec.Entrypoint, spec.Cmd = m.Launcher, cfg.Args
		if cfg.Stdin != nil {
			spec.OpenStdin, spec.StdinOnce, spec.AttachStdin, spec.AttachStdout, spec.AttachStderr = true, true, true, true, true
			spec.Tty = cfg.TTY
		}
	}
	if port := getenv(cfg.Env, "PORT"); port != "" {
		p := port + "/tcp"
		spec.ExposedPorts = map[string]struct{}{p: {}}
		spec.HostConfig.PortBindings = map[string][]portBinding{p: {{HostIP: "127.0.0.1", HostPort: port}}}
	}
	return spec
}

// containerEnv is env without the host's variables.
func containerEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !hostOnly(k) {
			out = append(out, kv)
		}
	}
	return out
}

func getenv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// containerName is "nua-APP-web.1-RANDOM": readable in `docker ps`, and
// unique, since old and new instances of web.1 overlap during a deploy.
func containerName(env []string) string {
	b := make([]byte, 4)
	rand.Read(b)
	name := "nua"
	for _, part := range []string{getenv(env, "NUA_APP"), getenv(env, "PS")} {
		if part != "" && strings.Trim(part, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == "" {
			name += "-" + part
		}
	}
	return name + "-" + hex.EncodeToString(b)
}

// startReaper starts the reaper in its own session, so that killing this
// runner's process group does not reach it, with a pipe on its stdin that
// closes when this process ends. stop ends the reaper's wait (after the
// runner removed the container itself).
func startReaper(argv []string, id string) (stop func(), err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], append(argv[1:], id)...)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("start reaper: %w", err)
	}
	go cmd.Wait()
	return func() { w.Close() }, nil
}

// Reap waits until stdin closes, then removes container id through the
// engine at the host recorded in the manifest of the slug in dir.
func Reap(dir, id string, stdin io.Reader) error {
	io.Copy(io.Discard, stdin)
	m, err := readManifest(dir)
	if err != nil {
		return err
	}
	c, err := newClient(m.Host)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.remove(ctx, id); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("remove container %s: %w", shortID(id), err)
	}
	return nil
}
