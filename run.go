package nua

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

	"github.com/nua-paas/nua/runtime/sandbox"
)

// TTY is a terminal the client asked for.
type TTY struct {
	Term          string
	Width, Height int
	// Resize brings window size changes; it may be nil.
	Resize <-chan [2]int
}

// RunRequest is a one-off command in an app's current release.
type RunRequest struct {
	App     string
	Command []string // argv; run without a shell (`sh -c '...'` for one)
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// TTY, when set, runs the command on a pseudo-terminal.
	TTY *TTY
}

// Run runs a one-off process in the app's current slug with its config and
// returns its exit status. The formation is not touched; the process dies
// with ctx.
func (p *Platform) Run(ctx context.Context, req RunRequest) (int, error) {
	app, err := p.App(req.App)
	if err != nil {
		return 0, err
	}
	rel, err := p.runnable(app, "")
	if err != nil {
		return 0, err
	}
	if len(req.Command) == 0 {
		return 0, fmt.Errorf("%w: give the command to run, e.g. run %s ls -l", ErrInvalid, app.Name)
	}
	env := append(p.processEnv(app, rel), "PS=run.1")
	argv := p.cfg.Builder.WrapOneOff(p.slugDir(app.Name, rel.Slug), req.Command)
	path, err := lookPath(argv[0], env)
	if err != nil {
		return 0, err
	}
	proc, err := p.slugSandbox(app, rel.Slug).Command(ctx, sandbox.Job{
		Name: "run", Argv: append([]string{path}, argv[1:]...), Dir: p.slugDir(app.Name, rel.Slug),
		Env: env, Limits: p.limits(app, "run"), Session: req.TTY != nil,
	})
	if err != nil {
		return 0, err
	}
	defer proc.Release()
	p.cfg.Procs.Event(app.Name, "run", "run: "+clip(strings.Join(req.Command, " ")))
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

func runPipes(cmd *exec.Cmd, req RunRequest) error {
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

func runTTY(cmd *exec.Cmd, req RunRequest) error {
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
	return "", fmt.Errorf("%w: %q not found in the app's PATH", ErrInvalid, clip(file))
}
