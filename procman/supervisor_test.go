package procman_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nua-paas/nua/procman"
)

func TestEnvReachesChild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSupervisor(t, procman.Config{LogDir: dir})
	spec := childSpec(t, "envapp", "web", 1, "env", "FOO=bar baz", "PORT=1", "PS=wrong")
	spec.Port = 5123
	p := mustStart(t, s, spec)
	if got, want := p.Spec().Name(), "web.1"; got != want {
		t.Fatalf("Name()=%q, want %q", got, want)
	}
	waitLog(t, filepath.Join(dir, "envapp", "web.1.log"), " PORT=5123 PS=web.1 FOO=bar baz LEAK=\n")
	st := p.Status()
	if st.State != procman.StateUp || st.PID == 0 || st.Port != 5123 || st.Name != "web.1" {
		t.Fatalf("Status()=%+v, want up with a pid on port 5123", st)
	}
}

func TestStopKillsProcessGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mode string // "grandchild": Stop kills both; "orphan": the leader exits, its child must die
	}{
		{name: "stop", mode: "grandchild"},
		{name: "leader exits", mode: "orphan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := newSupervisor(t, procman.Config{LogDir: dir, StopTimeout: 5 * time.Second, MinBackoff: time.Hour})
			// "; true" keeps the shell as the leader, so the grandchild is two levels down.
			spec := childSpec(t, "group", "web", 1, tt.mode)
			spec.Command += "; true"
			p := mustStart(t, s, spec)
			leader := p.Status().PID
			out := waitLog(t, filepath.Join(dir, "group", "web.1.log"), "grandchild ")
			m := regexp.MustCompile(`grandchild (\d+)`).FindStringSubmatch(out)
			gc, _ := strconv.Atoi(m[1])
			if tt.mode == "grandchild" {
				if gone(gc) {
					t.Fatalf("grandchild %d gone before Stop", gc)
				}
				start := time.Now()
				mustStop(t, p)
				if d := time.Since(start); d > 3*time.Second {
					t.Fatalf("Stop took %s; SIGTERM should have ended the group at once", d)
				}
			}
			waitFor(t, "leader and grandchild gone", func() bool { return gone(leader) && gone(gc) })
		})
	}
}

func TestStopSignals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		mode        string
		stopTimeout time.Duration
		minElapsed  time.Duration
		maxElapsed  time.Duration
		wantLog     string // in the process log
		wantEvent   string // in nua.log
		noEvent     string // not in nua.log
	}{
		{
			name: "graceful on SIGTERM", mode: "graceful", stopTimeout: 10 * time.Second,
			maxElapsed: 5 * time.Second, wantLog: "got SIGTERM", wantEvent: "web.1 Process exited: ",
			noEvent: "SIGKILL",
		},
		{
			name: "SIGKILL after timeout", mode: "ignore-term", stopTimeout: 300 * time.Millisecond,
			minElapsed: 300 * time.Millisecond, maxElapsed: 5 * time.Second,
			wantEvent: "Stop timeout of 300ms exceeded, sending SIGKILL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := newSupervisor(t, procman.Config{LogDir: dir, StopTimeout: tt.stopTimeout})
			p := mustStart(t, s, childSpec(t, "sig", "web", 1, tt.mode))
			pid := p.Status().PID
			logPath := filepath.Join(dir, "sig", "web.1.log")
			waitLog(t, logPath, "ready")
			select {
			case <-p.Done():
				t.Fatal("Done closed before Stop")
			default:
			}
			start := time.Now()
			mustStop(t, p)
			elapsed := time.Since(start)
			if elapsed < tt.minElapsed || elapsed > tt.maxElapsed {
				t.Fatalf("Stop took %s, want between %s and %s", elapsed, tt.minElapsed, tt.maxElapsed)
			}
			select {
			case <-p.Done():
			default:
				t.Fatal("Done not closed after Stop")
			}
			if !gone(pid) {
				t.Fatalf("pid %d still running after Stop", pid)
			}
			if st := p.Status(); st.State != procman.StateStopped || st.PID != 0 {
				t.Fatalf("Status()=%+v, want stopped", st)
			}
			if !strings.Contains(readLog(t, logPath), tt.wantLog) {
				t.Fatalf("log lacks %q:\n%s", tt.wantLog, readLog(t, logPath))
			}
			ev := readLog(t, filepath.Join(dir, "sig", "nua.log"))
			if !strings.Contains(ev, tt.wantEvent) || (tt.noEvent != "" && strings.Contains(ev, tt.noEvent)) {
				t.Fatalf("events lack %q or hold %q:\n%s", tt.wantEvent, tt.noEvent, ev)
			}
		})
	}
}

func TestCrashRestartsWithBackoff(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	min, max := 30*time.Millisecond, 120*time.Millisecond
	s := newSupervisor(t, procman.Config{LogDir: dir, MinBackoff: min, MaxBackoff: max})
	p := mustStart(t, s, shSpec(t, "crashy", "web", 1, "echo boot"))
	logPath := filepath.Join(dir, "crashy", "web.1.log")
	waitFor(t, "5 boots", func() bool { return strings.Count(readLog(t, logPath), " boot\n") >= 5 })
	if got := p.Status().Restarts; got < 4 {
		t.Fatalf("Restarts=%d after 5 boots, want at least 4", got)
	}
	mustStop(t, p)

	var boots []time.Time
	for line := range strings.Lines(readLog(t, logPath)) {
		ts, text, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if text != "boot" {
			t.Fatalf("unexpected log line %q", line)
		}
		tm, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		boots = append(boots, tm)
	}
	if len(boots) < 5 {
		t.Fatalf("%d boots logged, want at least 5", len(boots))
	}
	wantGaps := []time.Duration{min, 2 * min, max, max}
	for i, want := range wantGaps {
		if got := boots[i+1].Sub(boots[i]); got < want {
			t.Fatalf("gap between boot %d and %d = %s, want at least %s", i, i+1, got, want)
		}
	}
	ev := readLog(t, filepath.Join(dir, "crashy", "nua.log"))
	for _, want := range []string{"web.1 Starting process with command", "web.1 Process exited: exit status 0", "web.1 Restarting in 60ms"} {
		if !strings.Contains(ev, want) {
			t.Fatalf("events lack %q:\n%s", want, ev)
		}
	}
}

func TestCrashedStatusWhileWaiting(t *testing.T) {
	t.Parallel()
	s := newSupervisor(t, procman.Config{MinBackoff: time.Hour})
	p := mustStart(t, s, shSpec(t, "waiting", "worker", 2, "exit 3"))
	waitFor(t, "crashed state", func() bool { return p.Status().State == procman.StateCrashed })
	st := p.Status()
	if st.ExitErr != "exit status 3" || st.PID != 0 || st.Restarts != 0 || st.Name != "worker.2" {
		t.Fatalf("Status()=%+v, want crashed worker.2 with exit status 3", st)
	}
	select {
	case <-p.Done():
		t.Fatal("Done closed on a crash")
	default:
	}
	start := time.Now()
	mustStop(t, p)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Stop during backoff took %s", d)
	}
	if got := p.Status().State; got != procman.StateStopped {
		t.Fatalf("State=%q after Stop, want stopped", got)
	}
}

func TestStartInvalidSpec(t *testing.T) {
	t.Parallel()
	s := newSupervisor(t, procman.Config{})
	valid := shSpec(t, "ok", "web", 1, "true")
	tests := []struct {
		name   string
		mutate func(*procman.Spec)
	}{
		{name: "app with slash", mutate: func(s *procman.Spec) { s.App = "../etc" }},
		{name: "app upper case", mutate: func(s *procman.Spec) { s.App = "MyApp" }},
		{name: "empty app", mutate: func(s *procman.Spec) { s.App = "" }},
		{name: "app trailing dash", mutate: func(s *procman.Spec) { s.App = "web-" }},
		{name: "type with dot", mutate: func(s *procman.Spec) { s.Type = "web.x" }},
		{name: "type with slash", mutate: func(s *procman.Spec) { s.Type = "../web" }},
		{name: "index zero", mutate: func(s *procman.Spec) { s.Index = 0 }},
		{name: "empty command", mutate: func(s *procman.Spec) { s.Command = "  " }},
		{name: "port out of range", mutate: func(s *procman.Spec) { s.Port = 70000 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := valid
			tt.mutate(&spec)
			if _, err := s.Start(spec); !errors.Is(err, procman.ErrSpec) {
				t.Fatalf("Start() error = %v, want ErrSpec", err)
			}
		})
	}
	t.Run("missing dir", func(t *testing.T) {
		spec := valid
		spec.Dir = filepath.Join(t.TempDir(), "nope")
		if _, err := s.Start(spec); err == nil || errors.Is(err, procman.ErrSpec) {
			t.Fatalf("Start() error = %v, want a start error", err)
		}
	})
}

func TestCloseStopsAllInParallel(t *testing.T) {
	t.Parallel()
	s := procman.New(procman.Config{LogDir: t.TempDir(), StopTimeout: 300 * time.Millisecond})
	var procs []*procman.Process
	for i := 1; i <= 3; i++ {
		p := mustStart(t, s, childSpec(t, "many", "worker", i, "ignore-term"))
		procs = append(procs, p)
	}
	// Each child says ready once it ignores SIGTERM.
	for _, p := range procs {
		waitLog(t, filepath.Join(s.LogDir(), "many", p.Spec().Name()+".log"), "ready")
	}
	start := time.Now()
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 850*time.Millisecond {
		t.Fatalf("Close took %s, want about one StopTimeout (300ms) for three processes", d)
	}
	for _, p := range procs {
		select {
		case <-p.Done():
		default:
			t.Fatalf("%s not done after Close", p.Spec().Name())
		}
	}
	if _, err := s.Start(shSpec(t, "many", "web", 1, "true")); !errors.Is(err, procman.ErrClosed) {
		t.Fatalf("Start after Close error = %v, want ErrClosed", err)
	}
}

func TestStopCancelled(t *testing.T) {
	t.Parallel()
	s := newSupervisor(t, procman.Config{StopTimeout: time.Hour})
	p := mustStart(t, s, childSpec(t, "cancel", "web", 1, "ignore-term"))
	pid := p.Status().PID
	waitLog(t, filepath.Join(s.LogDir(), "cancel", "web.1.log"), "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop() error = %v, want DeadlineExceeded", err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("process not done after a cancelled Stop")
	}
	if !gone(pid) {
		t.Fatalf("pid %d survived a cancelled Stop", pid)
	}
}

func TestConcurrentStops(t *testing.T) {
	t.Parallel()
	s := newSupervisor(t, procman.Config{})
	p := mustStart(t, s, childSpec(t, "conc", "web", 1, "sleep"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := p.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestNoOrphansWhenDaemonDies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	daemon := exec.Command(os.Args[0])
	daemon.Env = append(os.Environ(), childEnv+"=daemon", logDirEnv+"="+dir, "GORACE=atexit_sleep_ms=0")
	stdout, err := daemon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
	var leader int
	if _, err := fmt.Fscanf(bufio.NewReader(stdout), "leader %d\n", &leader); err != nil {
		t.Fatalf("read daemon output: %v", err)
	}
	out := waitLog(t, filepath.Join(dir, "orphans", "web.1.log"), "grandchild ")
	var child, grandchild int
	m := regexp.MustCompile(`child (\d+) grandchild (\d+)`).FindStringSubmatch(out)
	child, _ = strconv.Atoi(m[1])
	grandchild, _ = strconv.Atoi(m[2])

	daemon.Process.Kill() // SIGKILL: no cleanup in the daemon runs
	daemon.Wait()
	waitFor(t, "the whole group gone", func() bool { return gone(leader) && gone(child) && gone(grandchild) })
}

// TestCrashedHook tells of each exit that is followed by a restart, with
// how the run ended, and of none when the process is stopped.
func TestCrashedHook(t *testing.T) {
	t.Parallel()
	type crash struct{ app, name, how string }
	got := make(chan crash, 100)
	s := newSupervisor(t, procman.Config{LogDir: t.TempDir(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Crashed: func(app, name, how string) { got <- crash{app, name, how} }})
	p := mustStart(t, s, shSpec(t, "crashy", "worker", 2, "exit 3"))
	for range 2 {
		select {
		case c := <-got:
			if c != (crash{"crashy", "worker.2", "exit status 3"}) {
				t.Fatalf("Crashed(%q, %q, %q), want crashy worker.2 exit status 3", c.app, c.name, c.how)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no crash told within 10s")
		}
	}
	mustStop(t, p)
	n := len(got)
	q := mustStart(t, s, shSpec(t, "calm", "web", 1, "sleep 60"))
	mustStop(t, q)
	if len(got) > n+1 { // one may have been under way when Stop came
		t.Fatalf("%d crashes told after the stop", len(got)-n)
	}
	for len(got) > 0 {
		if c := <-got; c.app == "calm" {
			t.Fatalf("a stopped process was told as crashed: %+v", c)
		}
	}
}

// TestServer runs a Server inside the daemon like a process: up on its
// port, its lines in its log, restarted when it returns on its own, and
// shut down gracefully by Stop.
func TestServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSupervisor(t, procman.Config{LogDir: dir, MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	port := freePort(t)
	var runs atomic.Int32
	stopped := make(chan struct{}, 10)
	serve := func(ctx context.Context, ln net.Listener, out io.Writer) error {
		n := runs.Add(1)
		fmt.Fprintf(out, "run %d on %s\n", n, ln.Addr())
		if n == 1 {
			return errors.New("listener broke") // a crash
		}
		go func() { // answer one line per connection
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "run %d\n", n)
				c.Close()
			}
		}()
		<-ctx.Done()
		stopped <- struct{}{}
		return nil
	}
	p := mustStart(t, s, procman.Spec{App: "site", Type: "web", Index: 1, Command: "serve-static", Port: port, Server: serve})
	var got string
	waitFor(t, "the second run to answer", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return false
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got = string(b)
		return got == "run 2\n"
	})
	st := p.Status()
	if st.State != procman.StateUp || st.Restarts != 1 || st.PID != 0 || st.ExitErr != "listener broke" {
		t.Fatalf("status %+v, want up after one restart, no pid, the crash's error", st)
	}
	mustStop(t, p)
	select {
	case <-stopped:
	default:
		t.Fatal("Stop did not end the server through its context")
	}
	log := readLog(t, filepath.Join(dir, "site", "web.1.log"))
	ev := readLog(t, filepath.Join(dir, "site", "nua.log"))
	for _, want := range []string{"run 1 on 127.0.0.1:", "run 2 on 127.0.0.1:"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for _, want := range []string{`web.1 Starting "serve-static" in nua on port`, "web.1 Process exited: listener broke", "web.1 Process exited: stopped"} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}
	if _, err := s.Start(procman.Spec{App: "site", Type: "web", Index: 2, Command: "x", Server: serve}); !errors.Is(err, procman.ErrSpec) {
		t.Fatalf("a Server with no port: %v, want ErrSpec", err)
	}
}

// freePort returns a loopback port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
