// Package supervisor keeps the servers behind addons running: it starts
// each in its own process group, waits until it is ready, restarts it
// with a backoff when it dies, and stops it with nua. Each server's pid is
// kept in a file, so that one a killed daemon left running is found at the
// next start and replaced cleanly instead of clashing with the new one.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec is one server process.
type Spec struct {
	Name string // unique: "postgres", "redis/NAME"
	Path string // absolute path of the binary
	Args []string
	Env  []string // nil: a minimal environment
	// Credential runs the server as another user; nil: nua's own.
	Credential *syscall.Credential
	// PIDFile records the running server's pid.
	PIDFile string
	// Log receives the server's output (appended).
	Log string
	// StopSignal asks the server to stop; SIGTERM when 0.
	StopSignal syscall.Signal
	// Ready returns nil once the server serves; it is polled after each
	// start.
	Ready func(ctx context.Context) error
}

// Config sets a Supervisor's timings.
type Config struct {
	// ReadyTimeout bounds a start until Ready (default 60 s).
	ReadyTimeout time.Duration
	// StopTimeout is the grace before SIGKILL (default 30 s).
	StopTimeout time.Duration
	// Backoff is the first restart delay, doubled up to MaxBackoff
	// (defaults 1 s and 60 s).
	Backoff, MaxBackoff time.Duration
	Logger              *slog.Logger
}

// Supervisor runs servers until they are stopped or it is closed.
type Supervisor struct {
	cfg   Config
	log   *slog.Logger
	mu    sync.Mutex
	procs map[string]*proc
	wg    sync.WaitGroup
}

// Status is what the supervisor knows of one server.
type Status struct {
	Name     string
	PID      int // 0 while down
	Restarts int
	Since    time.Time
}

type proc struct {
	spec     Spec
	stop     chan struct{} // closed to stop it
	done     chan struct{} // closed when its loop ended
	mu       sync.Mutex
	pid      int
	restarts int
	since    time.Time
}

// New returns a Supervisor; it starts nothing.
func New(cfg Config) *Supervisor {
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{cfg: cfg, log: cfg.Logger, procs: map[string]*proc{}}
}

// Start replaces what a killed daemon left of the server, starts it and
// waits until it is ready; from then on it is restarted whenever it dies,
// until Stop or Close. Starting a server already running does nothing.
func (s *Supervisor) Start(ctx context.Context, spec Spec) error {
	s.mu.Lock()
	if _, ok := s.procs[spec.Name]; ok {
		s.mu.Unlock()
		return nil
	}
	p := &proc{spec: spec, stop: make(chan struct{}), done: make(chan struct{})}
	s.procs[spec.Name] = p
	s.mu.Unlock()
	if err := s.reap(spec); err != nil {
		s.forget(p)
		return err
	}
	r, err := s.spawn(p)
	if err == nil {
		err = s.waitReady(ctx, p, r)
	}
	if err != nil {
		if r != nil {
			s.kill(spec, r)
		}
		s.forget(p)
		return fmt.Errorf("start %s: %w%s", spec.Name, err, tail(spec.Log))
	}
	s.wg.Go(func() { s.watch(p, r) })
	return nil
}

func (s *Supervisor) forget(p *proc) {
	s.mu.Lock()
	delete(s.procs, p.spec.Name)
	s.mu.Unlock()
	close(p.done)
}

// waitReady polls spec.Ready until it passes, the server exits or the
// timeout passes.
func (s *Supervisor) waitReady(ctx context.Context, p *proc, r *run) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	for {
		if p.spec.Ready == nil {
			return nil
		}
		err := p.spec.Ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("exited before it was ready: %v", r.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready within %s: %v", s.cfg.ReadyTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// run is one run of a server; done is closed once it exited, with err.
type run struct {
	pid  int
	done chan struct{}
	err  error
}

// spawn starts the server once and records its pid.
func (s *Supervisor) spawn(p *proc) (*run, error) {
	spec := p.spec
	logf, err := os.OpenFile(spec.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = spec.Env
	if cmd.Env == nil {
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: spec.Credential}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	r := &run{pid: pid, done: make(chan struct{})}
	go func() { r.err = cmd.Wait(); close(r.done) }()
	p.mu.Lock()
	p.pid, p.since = pid, time.Now()
	p.mu.Unlock()
	if err := writePID(spec.PIDFile, pid, spec.Path); err != nil {
		s.kill(spec, r)
		return nil, err
	}
	s.log.Info("server started", "server", spec.Name, "pid", pid)
	return r, nil
}

// watch restarts the server whenever it dies, with a backoff, until it is
// stopped.
func (s *Supervisor) watch(p *proc, r *run) {
	defer close(p.done)
	backoff := s.cfg.Backoff
	for {
		select {
		case <-p.stop:
			s.kill(p.spec, r)
			os.Remove(p.spec.PIDFile)
			return
		case <-r.done:
			p.mu.Lock()
			ran := time.Since(p.since)
			p.pid, p.since = 0, time.Now()
			p.restarts++
			p.mu.Unlock()
			if ran > 2*s.cfg.MaxBackoff {
				backoff = s.cfg.Backoff
			}
			s.log.Warn("server exited: restarting", "server", p.spec.Name, "err", r.err, "in", backoff)
			select {
			case <-p.stop:
				os.Remove(p.spec.PIDFile)
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, s.cfg.MaxBackoff)
			for {
				var serr error
				if r, serr = s.spawn(p); serr == nil {
					break
				}
				s.log.Error("restart server", "server", p.spec.Name, "err", serr)
				select {
				case <-p.stop:
					return
				case <-time.After(backoff):
				}
			}
		}
	}
}

// kill stops the server's process group: its stop signal, then SIGKILL
// after the grace.
func (s *Supervisor) kill(spec Spec, r *run) {
	sig := spec.StopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	syscall.Kill(r.pid, sig)
	select {
	case <-r.done:
	case <-time.After(s.cfg.StopTimeout):
		syscall.Kill(-r.pid, syscall.SIGKILL)
		<-r.done
	}
	syscall.Kill(-r.pid, syscall.SIGKILL) // what the server left behind
}

// Stop stops the named server and waits until it is gone; stopping one
// not running does nothing.
func (s *Supervisor) Stop(name string) {
	s.mu.Lock()
	p, ok := s.procs[name]
	delete(s.procs, name)
	s.mu.Unlock()
	if !ok {
		return
	}
	close(p.stop)
	<-p.done
	s.log.Info("server stopped", "server", name)
}

// Close stops every server, all at once, and waits for them.
func (s *Supervisor) Close(ctx context.Context) error {
	s.mu.Lock()
	var names []string
	for name := range s.procs {
		names = append(names, name)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() { s.Stop(name) })
	}
	wg.Wait()
	s.wg.Wait()
	return nil
}

// Status returns what the supervisor knows of the named server.
func (s *Supervisor) Status(name string) (Status, bool) {
	s.mu.Lock()
	p, ok := s.procs[name]
	s.mu.Unlock()
	if !ok {
		return Status{Name: name}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return Status{Name: name, PID: p.pid, Restarts: p.restarts, Since: p.since}, true
}

// pidFile content: the pid, then the binary's path, so that a reused pid
// of another program is never taken for the server.
func writePID(path string, pid int, binary string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %s\n", pid, binary)), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// reap stops a server a killed daemon left running, found through its
// pid file, and waits until its processes are gone.
func (s *Supervisor) reap(spec Spec) error {
	data, err := os.ReadFile(spec.PIDFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	pidStr, binary, _ := strings.Cut(strings.TrimSpace(string(data)), " ")
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 1 || !Runs(pid, binary) {
		os.Remove(spec.PIDFile)
		return nil
	}
	s.log.Warn("server left running by an earlier nua: replacing it", "server", spec.Name, "pid", pid)
	sig := spec.StopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	syscall.Kill(pid, sig)
	deadline := time.Now().Add(s.cfg.StopTimeout)
	for groupAlive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
		if time.Now().After(deadline.Add(5 * time.Second)) {
			return fmt.Errorf("server %s (pid %d) left by an earlier nua does not stop", spec.Name, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return os.Remove(spec.PIDFile)
}

// Runs reports whether process pid runs the program binary.
func Runs(pid int, binary string) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	if real, err := filepath.EvalSymlinks(binary); err == nil {
		binary = real
	}
	return exe == binary
}

// groupAlive reports whether any process of group pgid lives (zombies
// excepted).
func groupAlive(pgid int) bool {
	return len(groupPIDs(pgid)) > 0
}

// groupPIDs lists the live processes of process group pgid.
func groupPIDs(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: state ppid pgrp.
		i := strings.LastIndexByte(string(data), ')')
		f := strings.Fields(string(data[i+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Memory returns the resident memory, in bytes, of the processes of the
// server whose group leader is pid.
func Memory(pid int) int64 {
	var total int64
	for _, p := range groupPIDs(pid) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				total += kb << 10
			}
		}
	}
	return total
}

// PIDOf reads the pid a pid file records while that process runs its
// binary, else 0: doctor, outside the daemon, finds running servers so.
func PIDOf(pidFile string) int {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pidStr, binary, _ := strings.Cut(strings.TrimSpace(string(data)), " ")
	pid, err := strconv.Atoi(pidStr)
	if err != nil || !Runs(pid, binary) {
		return 0
	}
	return pid
}

// tail returns the last lines of the log file, for an error message.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	lines = lines[max(0, len(lines)-5):]
	return "; its last lines:\n" + strings.Join(lines, "\n")
}
