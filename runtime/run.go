package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/creack/pty"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/runtime/sandbox"
)

// Run runs a one-off command in rel's slug with its environment and
// returns its exit status (128+N when signal N ended it). The process dies
// with ctx.
func (r *Runtime) Run(ctx context.Context, app nua.App, rel nua.Release, req nua.RunRequest) (int, error) {
	slug := r.slugDir(app.Name, rel.Slug)
	env := append(r.processEnv(app, rel), "PS=run.1")
	if len(req.Command) == 0 {
		return 0, fmt.Errorf("%w: no command to run", nua.ErrInvalid)
	}
	argv := r.cfg.Builder.WrapOneOff(slug, req.Command)
	path, err := lookPath(argv[0], env)
	if err != nil {
		return 0, err
	}
	proc, err := r.slugSandbox(app, rel.Slug).Command(ctx, sandbox.Job{
		Name: "run", Argv: append([]string{path}, argv[1:]...), Dir: slug,
		Env: env, Limits: r.limits(app, "run"), Session: req.TTY != nil,
	})
	if err != nil {
		return 0, err
	}
	defer proc.Release()
	if req.TTY != nil {
		err = runTTY(proc.Cmd, req)
	} else {
		err = runPipes(proc.Cmd, req)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	return 0, err
}

// ReleasePhase runs cmd in rel's slug with its environment, as the
// release phase, its output to out.
func (r *Runtime) ReleasePhase(ctx context.Context, app nua.App, rel nua.Release, cmd string, out io.Writer) error {
	c, err := r.slugSandbox(app, rel.Slug).Command(ctx, sandbox.Job{
		Name: "release", Argv: []string{"/bin/sh", "-c", cmd}, Dir: r.slugDir(app.Name, rel.Slug),
		Env: append(r.processEnv(app, rel), "PS=release.1"), Limits: r.limits(app, "release"),
	})
	if err != nil {
		return err
	}
	defer c.Release()
	c.Stdout, c.Stderr = out, out
	return c.Run()
}

func runPipes(cmd *exec.Cmd, req nua.RunRequest) error {
	cmd.Stdout, cmd.Stderr = req.Stdout, req.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", cmd.Args[0], err)
	}
	if req.Stdin != nil {
		go func() { io.Copy(in, req.Stdin); in.Close() }()
	}
	err = cmd.Wait()
	in.Close()
	return err
}

func runTTY(cmd *exec.Cmd, req nua.RunRequest) error {
	t := req.TTY
	if t.Term != "" {
		cmd.Env = append(cmd.Env, "TERM="+t.Term)
	}
	cmd.SysProcAttr.Setctty = true
	ptmx, err := pty.StartWithAttrs(cmd, &pty.Winsize{Cols: uint16(t.Width), Rows: uint16(t.Height)}, cmd.SysProcAttr)
	if err != nil {
		return fmt.Errorf("run %s: %w", cmd.Args[0], err)
	}
	defer ptmx.Close()
	if t.Resize != nil {
		go func() {
			for wh := range t.Resize {
				pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(wh[0]), Rows: uint16(wh[1])})
			}
		}()
	}
	if req.Stdin != nil {
		go io.Copy(ptmx, req.Stdin)
	}
	copied := make(chan struct{})
	go func() { io.Copy(req.Stdout, ptmx); close(copied) }()
	err = cmd.Wait()
	select { // the terminal reads EIO once the last holder is gone
	case <-copied:
	case <-time.After(time.Second): // a background child still holds it
		ptmx.Close()
		<-copied
	}
	return err
}

// lookPath finds file on the PATH of env, the way the process will.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	var path string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %.80q not found in the app's PATH", nua.ErrInvalid, file)
}
