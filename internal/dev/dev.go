// Package dev runs an app's Procfile on a developer's machine the way
// foreman does — PORT per process, .env, a formation, prefixed output, one
// Ctrl-C stops all — on the same supervisor as the server, procman.
package dev

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/procman"
)

// DefaultStopTimeout is the grace between SIGTERM and SIGKILL.
const DefaultStopTimeout = 5 * time.Second

// Config is one run of an app's Procfile.
type Config struct {
	// Dir is the app's root, where processes run; "" = the directory of
	// Procfile if given, else the current directory.
	Dir string
	// Procfile is the Procfile's path; "" = Dir/Procfile.
	Procfile string
	// EnvFiles are read in order, later ones overriding; each must exist.
	// nil = Dir/.env if it exists.
	EnvFiles []string
	// Formation is the -m value, "web=2,worker=1"; "" = one of each type.
	Formation string
	// Port is the base port; 0 = PORT from the env files, else from
	// Environ, else 5000.
	Port int
	// Restart restarts a process that exits, with procman's backoff,
	// instead of stopping all.
	Restart bool
	// StopTimeout is the grace between SIGTERM and SIGKILL; 0 = 5s.
	StopTimeout time.Duration
	// Environ is the environment processes inherit (os.Environ()).
	Environ []string
	// Out receives the prefixed lines; Color colours their prefixes.
	Out   io.Writer
	Color bool
	// Kill, once closed, kills the processes at once rather than waiting
	// out StopTimeout (a second Ctrl-C).
	Kill <-chan struct{}
	// Logger receives procman's diagnostics; nil discards them.
	Logger *slog.Logger
}

// plan is a checked Config: what to run, and how.
type plan struct {
	dir   string
	specs []procman.Spec
	env   []string
}

// prepare checks everything and plans the processes; it starts nothing.
func prepare(cfg Config) (plan, error) {
	// Paths in messages stay as the user gave them; processes get an
	// absolute directory.
	dir, procfile := cfg.Dir, cfg.Procfile
	if dir == "" && procfile != "" {
		dir = filepath.Dir(procfile)
	}
	dir = cmp.Or(dir, ".")
	abs, err := filepath.Abs(dir)
	if err != nil {
		return plan{}, fmt.Errorf("resolve app dir: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return plan{}, fmt.Errorf("%w: %s is not a directory: give the app's directory", nua.ErrInvalid, dir)
	}
	pf, err := readProcfile(cmp.Or(procfile, filepath.Join(dir, "Procfile")))
	if err != nil {
		return plan{}, err
	}
	var f Formation
	if cfg.Formation != "" {
		if f, err = ParseFormation(cfg.Formation); err != nil {
			return plan{}, err
		}
	}
	envFiles, optional := cfg.EnvFiles, false
	if envFiles == nil {
		envFiles, optional = []string{filepath.Join(dir, ".env")}, true
	}
	vars, err := LoadEnvFiles(envFiles, optional)
	if err != nil {
		return plan{}, err
	}
	base, err := basePort(cfg.Port, vars, cfg.Environ)
	if err != nil {
		return plan{}, err
	}
	specs, err := Plan(pf, f, base)
	if err != nil {
		return plan{}, err
	}
	return plan{dir: abs, specs: specs, env: Environ(cfg.Environ, vars)}, nil
}

func readProcfile(path string) (procman.Procfile, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no Procfile at %s: give the app's directory or -f PROCFILE", nua.ErrInvalid, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open Procfile: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", nua.ErrInvalid, path)
	}
	pf, err := procman.ParseProcfile(f)
	if errors.Is(err, procman.ErrProcfile) {
		return nil, fmt.Errorf("%w: %w", nua.ErrInvalid, err)
	}
	return pf, err
}

// Run runs the Procfile until ctx is done or, unless cfg.Restart, until a
// process exits; then it stops every process (SIGTERM to each process
// group, SIGKILL after the grace) and returns. A process that exited
// with a failure is an error. Bad input is an error wrapping
// nua.ErrInvalid, and then nothing was started.
func Run(ctx context.Context, cfg Config) error {
	pl, err := prepare(cfg)
	if err != nil {
		return err
	}
	names := make([]string, len(pl.specs))
	for i, s := range pl.specs {
		names[i] = s.Name()
	}
	out := newPrinter(cmp.Or[io.Writer](cfg.Out, io.Discard), names, cfg.Color)
	sup := procman.New(procman.Config{
		Output: out.line, Logger: cfg.Logger,
		StopTimeout: cmp.Or(cfg.StopTimeout, DefaultStopTimeout),
	})
	defer stopAll(sup, cfg.Kill)

	exited := make(chan *procman.Process, len(pl.specs))
	for _, spec := range pl.specs {
		spec.Dir, spec.Env = pl.dir, pl.env
		if !cfg.Restart {
			spec.Restart = procman.RestartNever
		}
		p, err := sup.Start(spec)
		if err != nil {
			return err
		}
		go func() { <-p.Done(); exited <- p }()
	}
	select {
	case <-ctx.Done():
		out.system("stopping all processes; interrupt again to kill them at once")
		return nil
	case p := <-exited:
		return ended(p, out)
	}
}

// ended reports the process whose exit stops all.
func ended(p *procman.Process, out *printer) error {
	st := p.Status()
	out.system(st.Name + " exited, stopping all processes")
	if st.ExitCode != 0 {
		return fmt.Errorf("%s exited: %s", st.Name, st.ExitErr)
	}
	return nil
}

// stopAll stops every process, killing them at once when kill closes.
func stopAll(sup *procman.Supervisor, kill <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-kill:
			cancel()
		case <-ctx.Done():
		}
	}()
	sup.Close(ctx) // a cancelled Close has killed the groups: nothing to add
}
