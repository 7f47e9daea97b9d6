package procman

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nua-paas/nua/internal/appname"
	"github.com/nua-paas/nua/runtime/sandbox"
)

// Spec describes one process instance.
type Spec struct {
	App     string   // app name (a DNS label); names the log dir
	Type    string   // process type, "web"
	Index   int      // 1-based instance number
	Command string   // run as /bin/sh -c Command
	Dir     string   // working directory (the slug); "" = the daemon's
	Env     []string // the full environment, KEY=VALUE; PORT and PS are appended
	Port    int      // PORT for the process; 0 = none
	Restart Restart  // what happens when it exits on its own
	// Sandbox confines the process (nil: unconfined, as `nua dev` runs).
	Sandbox *sandbox.Sandbox
	// Limits bound each run of the process in its sandbox.
	Limits sandbox.Limits
	// Server, when set, runs the process inside the daemon instead of as
	// an OS process, on a listener on 127.0.0.1:Port (Command then only
	// names it in events). It has no sandbox, limits or pid: it is for
	// nua's own servers, such as a static site's.
	Server Server
}

// Server serves on ln until ctx ends, then shuts down and returns, nil
// after a clean stop; ln is its to close. Lines written to out go to the
// process's log. A Server that returns on its own has crashed.
type Server func(ctx context.Context, ln net.Listener, out io.Writer) error

// Restart says what happens when a process exits on its own.
type Restart int

// Restart policies.
const (
	// RestartAlways restarts it after the backoff (the default).
	RestartAlways Restart = iota
	// RestartNever leaves it exited: its State becomes StateExited and its
	// Done closes, so the caller can react.
	RestartNever
)

// Name is the instance name, "web.1".
func (s Spec) Name() string { return s.Type + "." + strconv.Itoa(s.Index) }

func (s Spec) validate() error {
	switch {
	case !appname.Valid(s.App):
		return fmt.Errorf("%w: app name %q is not a DNS label", ErrSpec, s.App)
	case !ValidType(s.Type):
		return fmt.Errorf("%w: process type %q must match [A-Za-z0-9_-]+", ErrSpec, s.Type)
	case s.Index < 1:
		return fmt.Errorf("%w: index %d must be at least 1", ErrSpec, s.Index)
	case strings.TrimSpace(s.Command) == "":
		return fmt.Errorf("%w: empty command for %s", ErrSpec, s.Name())
	case s.Server != nil && s.Port == 0:
		return fmt.Errorf("%w: %s runs in the daemon and needs a port", ErrSpec, s.Name())
	case s.Port < 0 || s.Port > 65535:
		return fmt.Errorf("%w: port %d out of range", ErrSpec, s.Port)
	case s.Restart != RestartAlways && s.Restart != RestartNever:
		return fmt.Errorf("%w: unknown restart policy %d", ErrSpec, s.Restart)
	}
	return nil
}

// State is a process's lifecycle state.
type State string

// Process states.
const (
	StateStarting State = "starting" // being started
	StateUp       State = "up"       // running
	StateCrashed  State = "crashed"  // exited on its own, waiting to restart
	StateStopped  State = "stopped"  // stopped for good
	StateExited   State = "exited"   // exited on its own, not restarted (RestartNever)
)

// Status is a snapshot of a process.
type Status struct {
	Name     string    // "web.1"
	State    State     // current state
	PID      int       // OS pid while running, else 0
	Port     int       // the Spec's port
	Restarts int       // restarts so far
	Since    time.Time // when State was entered
	ExitErr  string    // how the last run ended ("exit status 1"), "" before any
	ExitCode int       // the last run's exit code, -1 if a signal ended it
	// OOMKills counts the runs the kernel killed for going over their
	// memory limit.
	OOMKills int
	// Memory and CPU are what the current run uses (sandboxed processes).
	Memory int64
	CPU    time.Duration
}

// Process is one supervised process instance.
type Process struct {
	sup  *Supervisor
	spec Spec
	env  []string
	out  *logFile // the process's output
	ev   *logFile // the app's events
	log  *slog.Logger

	stopOnce, killOnce     sync.Once
	stopCh, killCh, doneCh chan struct{}

	mu  sync.Mutex
	st  Status
	cur *run // the current run, while there is one
}

// run is one OS process of a Process, or one run of its Server.
type run struct {
	// cancel ends a Server's run; nil for an OS process. err is how the
	// run ended, set before exited closes.
	cancel context.CancelFunc
	err    error

	pid     int
	cmd     *sandbox.Proc
	r       *os.File // read end of the output pipe
	guard   *os.File // write end of the watchdog pipe; closing it kills the group
	started time.Time
	exited  chan struct{} // closed once Wait returned
	drained chan struct{} // closed once the output pipe is read to its end
}

func newProcess(s *Supervisor, spec Spec) *Process {
	env := make([]string, 0, len(spec.Env)+2)
	env = append(env, spec.Env...)
	if spec.Port > 0 {
		env = append(env, "PORT="+strconv.Itoa(spec.Port))
	}
	env = append(env, "PS="+spec.Name())
	p := &Process{
		sup:    s,
		spec:   spec,
		env:    env,
		out:    s.logFile(spec.App, spec.Name()),
		ev:     s.logFile(spec.App, eventStream),
		log:    s.log.With("app", spec.App, "ps", spec.Name()),
		stopCh: make(chan struct{}),
		killCh: make(chan struct{}),
		doneCh: make(chan struct{}),
		st:     Status{Name: spec.Name(), State: StateStarting, Port: spec.Port, Since: time.Now()},
	}
	p.out.hold()
	p.ev.hold()
	return p
}

// Spec returns the process's spec.
func (p *Process) Spec() Spec { return p.spec }

// Status returns a snapshot of the process's state.
func (p *Process) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	if p.cur != nil && p.cur.cmd != nil {
		u := p.cur.cmd.Usage()
		st.Memory, st.CPU = u.Memory, u.CPU
	}
	return st
}

// Done is closed once the process was stopped for good: by Stop, or, under
// RestartNever, when it exited on its own. It is not closed on crashes that
// are restarted.
func (p *Process) Done() <-chan struct{} { return p.doneCh }

// Stop ends supervision: no more restarts, SIGTERM to the process group,
// SIGKILL to the group after the StopTimeout. It returns once the process
// is gone. If ctx ends first, the group is killed at once and Stop returns
// ctx's error without waiting further.
func (p *Process) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stopCh) })
	select {
	case <-p.doneCh:
		return nil
	case <-ctx.Done():
	}
	p.killOnce.Do(func() { close(p.killCh) })
	return fmt.Errorf("stop %s: %w", p.spec.Name(), ctx.Err())
}

// guardScript runs the command ($0) as /bin/sh -c "$0", keeping the pid,
// next to a watchdog in the same process group. The watchdog ignores
// SIGTERM and blocks reading fd 3, the read end of a pipe whose write end
// only the daemon holds; once the daemon is gone, however it died, the read
// ends and the watchdog SIGKILLs the whole group. Pdeathsig alone would
// reach only the shell, not the app it runs. The supervisor's own final
// SIGKILL of the group removes the watchdog.
const guardScript = `(trap '' TERM; read x <&3; kill -9 0) </dev/null >/dev/null 2>&1 &
exec 3<&- /bin/sh -c "$0"`

// start starts one OS process in its own process group, guarded so that no
// member outlives the daemon.
func (p *Process) start() (*run, error) {
	p.setState(StateStarting, nil)
	if p.spec.Server != nil {
		return p.startServer()
	}
	files, err := pipes()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.spec.Name(), err)
	}
	r, w, guardR, guardW := files[0], files[1], files[2], files[3]
	cmd, err := p.spec.Sandbox.Command(context.Background(), sandbox.Job{
		Name: p.spec.Name(), Argv: []string{"/bin/sh", "-c", guardScript, p.spec.Command},
		Dir: p.spec.Dir, Env: p.env, Limits: p.spec.Limits,
	})
	if err == nil {
		cmd.Stdout, cmd.Stderr = w, w // stdin nil = /dev/null
		cmd.ExtraFiles = []*os.File{guardR}
		if err = cmd.Start(); err != nil {
			cmd.Release()
		}
	}
	w.Close()
	guardR.Close()
	if err != nil {
		r.Close()
		guardW.Close()
		return nil, fmt.Errorf("start %s: %w", p.spec.Name(), err)
	}
	rn := &run{
		pid: cmd.Process.Pid, cmd: cmd, r: r, guard: guardW, started: time.Now(),
		exited: make(chan struct{}), drained: make(chan struct{}),
	}
	p.event("Starting process with command %q (pid %d)", p.spec.Command, rn.pid)
	p.log.Info("process started", "pid", rn.pid)
	go func() {
		copyLines(r, p.out)
		close(rn.drained)
	}()
	go func() {
		_ = cmd.Wait() // the outcome is read from cmd.ProcessState
		close(rn.exited)
	}()
	p.setState(StateUp, func(st *Status) { st.PID, p.cur = rn.pid, rn })
	return rn, nil
}

// supervise watches rn and its successors until Stop.
func (p *Process) supervise(rn *run) {
	defer p.finish()
	bo := backoff{min: p.sup.cfg.MinBackoff, max: p.sup.cfg.MaxBackoff}
	var (
		exitErr string
		code    int
		uptime  time.Duration
	)
	for {
		if rn != nil {
			select {
			case <-p.stopCh:
				p.terminate(rn)
				return
			case <-rn.exited:
			}
			// The rest of the group gets the usual stop.
			p.signal(rn, syscall.SIGTERM)
			exitErr, code = p.reap(rn, time.Now().Add(p.sup.cfg.StopTimeout),
				"Stop timeout exceeded for the rest of the process group, sending SIGKILL")
			uptime = time.Since(rn.started)
			if p.spec.Restart == RestartNever {
				p.setState(StateExited, func(st *Status) { st.PID, st.ExitErr, st.ExitCode = 0, exitErr, code })
				return
			}
		}
		if f := p.sup.cfg.Crashed; f != nil {
			f(p.spec.App, p.spec.Name(), exitErr)
		}
		delay := bo.next(uptime)
		p.setState(StateCrashed, func(st *Status) { st.PID, st.ExitErr, st.ExitCode = 0, exitErr, code })
		p.event("Restarting in %s", delay)
		if !p.sleep(delay) {
			return
		}
		p.mu.Lock()
		p.st.Restarts++
		p.mu.Unlock()
		var err error
		if rn, err = p.start(); err != nil {
			p.event("%v", err)
			exitErr, code, uptime = err.Error(), -1, 0
		}
	}
}

// terminate stops rn: SIGTERM to its group, SIGKILL to whatever is left
// of the group after the grace.
func (p *Process) terminate(rn *run) {
	grace := p.sup.cfg.StopTimeout
	p.event("Stopping process with SIGTERM")
	p.signal(rn, syscall.SIGTERM)
	exitErr, code := p.reap(rn, time.Now().Add(grace),
		fmt.Sprintf("Stop timeout of %s exceeded, sending SIGKILL", grace))
	p.setState(StateStopped, func(st *Status) { st.PID, st.ExitErr, st.ExitCode = 0, exitErr, code })
}

// reap waits until rn's group has ended — its leader exited and nothing
// holds its output any more — or until deadline, then SIGKILLs the group
// (members that closed their output included). It returns how the leader
// ended and its exit code (-1 for a signal). The leader is often the shell running the command, so its exit
// alone does not mean the app is gone.
func (p *Process) reap(rn *run, deadline time.Time, timeoutMsg string) (string, int) {
	if rn.cancel != nil {
		return p.reapServer(rn, deadline, timeoutMsg)
	}
	switch p.awaitEnd(rn, deadline) {
	case endTimeout:
		p.event("%s", timeoutMsg)
	case endKilled:
		p.event("Stop cancelled, sending SIGKILL")
	}
	p.signal(rn, syscall.SIGKILL)
	<-rn.exited
	t := time.NewTimer(time.Second)
	select {
	case <-rn.drained:
	case <-t.C: // a process that left the group still holds the output
		rn.r.Close()
		<-rn.drained
	}
	t.Stop()
	rn.r.Close()
	rn.guard.Close()
	exitErr := rn.cmd.ProcessState.String()
	oom := rn.cmd.Usage().OOMKills > 0
	rn.cmd.Release() // kills what left the group (setsid children)
	p.mu.Lock()
	p.cur = nil
	if oom {
		p.st.OOMKills++
	}
	p.mu.Unlock()
	if oom {
		exitErr = "OOM-killed: over its memory limit of " + fmt.Sprintf("%dM", p.spec.Limits.Memory>>20) + " (" + exitErr + ")"
	}
	p.event("Process exited: %s", exitErr)
	p.log.Info("process exited", "pid", rn.pid, "status", exitErr)
	return exitErr, rn.cmd.ProcessState.ExitCode()
}

// pipes returns two pipes: output read and write ends, watchdog read and
// write ends.
func pipes() ([]*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	gr, gw, err := os.Pipe()
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	return []*os.File{r, w, gr, gw}, nil
}

type end int

const (
	endGone end = iota
	endTimeout
	endKilled
)

// awaitEnd waits for rn's leader to exit and its output to close.
func (p *Process) awaitEnd(rn *run, deadline time.Time) end {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	exited, drained := rn.exited, rn.drained
	for exited != nil || drained != nil {
		select {
		case <-exited:
			exited = nil
		case <-drained:
			drained = nil
		case <-t.C:
			return endTimeout
		case <-p.killCh:
			return endKilled
		}
	}
	return endGone
}

// signal sends sig to rn's whole process group; either signal asks a
// Server to stop.
func (p *Process) signal(rn *run, sig syscall.Signal) {
	if rn.cancel != nil {
		rn.cancel()
		return
	}
	err := syscall.Kill(-rn.pid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		p.log.Error("signal process group", "pgid", rn.pid, "signal", sig, "err", err)
	}
}

// sleep waits d; it returns false if the process was stopped meanwhile.
func (p *Process) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.stopCh:
		return false
	case <-t.C:
		return true
	}
}

// finish marks the process stopped for good, unless it exited, and
// releases its logs.
func (p *Process) finish() {
	p.mu.Lock()
	if p.st.State != StateExited && p.st.State != StateStopped {
		p.st.State, p.st.Since = StateStopped, time.Now()
	}
	p.st.PID = 0
	p.mu.Unlock()
	p.out.release()
	p.ev.release()
	p.sup.forget(p)
	close(p.doneCh)
}

func (p *Process) setState(s State, f func(*Status)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st.State != s {
		p.st.State, p.st.Since = s, time.Now()
	}
	if f != nil {
		f(&p.st)
	}
}

func (p *Process) event(format string, args ...any) {
	p.ev.write(p.spec.Name(), fmt.Sprintf(format, args...))
}

// backoff is the restart delay: min, doubling up to max, back to min once a
// run lasted max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next(uptime time.Duration) time.Duration {
	if b.cur == 0 || uptime >= b.max {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return b.cur
}
