package procman_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nua-paas/nua/procman"
)

// lineLog collects what a Supervisor's Output receives.
type lineLog struct {
	mu    sync.Mutex
	lines []procman.Line
}

func (l *lineLog) add(line procman.Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

func (l *lineLog) all() []procman.Line {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]procman.Line(nil), l.lines...)
}

// texts returns the texts of name's lines, events or output.
func (l *lineLog) texts(name string, event bool) []string {
	var out []string
	for _, line := range l.all() {
		if line.Name == name && line.Event == event {
			out = append(out, line.Text)
		}
	}
	return out
}

func waitDone(t *testing.T, p *procman.Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s not done: %+v", p.Spec().Name(), p.Status())
	}
}

func TestOutputWithoutLogDir(t *testing.T) {
	t.Parallel()
	var got lineLog
	s := procman.New(procman.Config{Output: got.add})
	t.Cleanup(func() { s.Close(context.Background()) })
	spec := shSpec(t, "nofiles", "web", 1, "echo one; echo two >&2; echo PORT=$PORT PS=$PS; exit 3")
	spec.Port, spec.Restart = 5123, procman.RestartNever
	p := mustStart(t, s, spec)
	waitDone(t, p)

	if got, want := strings.Join(got.texts("web.1", false), "|"), "one|two|PORT=5123 PS=web.1"; got != want {
		t.Fatalf("output lines = %q, want %q", got, want)
	}
	events := strings.Join(got.texts("web.1", true), "\n")
	for _, want := range []string{`Starting process with command "echo one;`, "Process exited: exit status 3"} {
		if !strings.Contains(events, want) {
			t.Fatalf("events lack %q:\n%s", want, events)
		}
	}
	if strings.Contains(events, "Restarting") {
		t.Fatalf("a RestartNever process was to restart:\n%s", events)
	}
	for _, line := range got.all() {
		if line.App != "nofiles" || line.Time.IsZero() || line.Time.Location() != time.UTC {
			t.Fatalf("line %+v: want app nofiles and a UTC time", line)
		}
	}
	// No log file anywhere: not in the process's dir, not relative to the
	// daemon's working directory.
	for _, dir := range []string{spec.Dir, "nofiles"} {
		if _, err := os.Stat(dir + "/web.1.log"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("stat %s/web.1.log: %v, want no file", dir, err)
		}
	}
	var b bytes.Buffer
	if err := s.Logs(context.Background(), "nofiles", procman.LogOptions{}, &b); err != nil || b.Len() != 0 {
		t.Fatalf("Logs without LogDir = %q, %v; want nothing, no error", b.String(), err)
	}
}

func TestOutputKeepsOrder(t *testing.T) {
	t.Parallel()
	var got lineLog
	const n = 3000
	s := newSupervisor(t, procman.Config{Output: got.add})
	p := mustStart(t, s, childSpec(t, "order", "worker", 1, "spew", fmt.Sprintf("SPEW_LINES=%d", n)))
	waitFor(t, "all lines", func() bool { return len(got.texts("worker.1", false)) > n })
	mustStop(t, p)
	lines := got.texts("worker.1", false)
	for i := range n {
		if want := fmt.Sprintf("line %06d ", i); !strings.HasPrefix(lines[i], want) {
			t.Fatalf("line %d = %q, want prefix %q", i, lines[i], want)
		}
	}
	// Output and files see the same lines.
	logged := readLog(t, s.LogDir()+"/order/worker.1.log")
	if c := strings.Count(logged, "\n"); c != len(lines) {
		t.Fatalf("log file has %d lines, Output got %d", c, len(lines))
	}
}

func TestRestartNever(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		command  string
		wantErr  string
		wantCode int
	}{
		{name: "success", command: "echo hi", wantErr: "exit status 0", wantCode: 0},
		{name: "failure", command: "exit 7", wantErr: "exit status 7", wantCode: 7},
		{name: "signal", command: "kill -9 $$", wantErr: "signal: killed", wantCode: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSupervisor(t, procman.Config{MinBackoff: time.Millisecond})
			spec := shSpec(t, "once", "job", 1, tt.command)
			spec.Restart = procman.RestartNever
			p := mustStart(t, s, spec)
			waitDone(t, p)
			st := p.Status()
			if st.State != procman.StateExited || st.ExitErr != tt.wantErr || st.ExitCode != tt.wantCode ||
				st.Restarts != 0 || st.PID != 0 {
				t.Fatalf("Status()=%+v, want exited with %q (code %d), no restarts", st, tt.wantErr, tt.wantCode)
			}
			mustStop(t, p) // a no-op now
			if got := p.Status().State; got != procman.StateExited {
				t.Fatalf("State after Stop = %q, want exited", got)
			}
		})
	}
}

func TestRestartAlwaysKeepsExitCode(t *testing.T) {
	t.Parallel()
	s := newSupervisor(t, procman.Config{MinBackoff: time.Hour})
	p := mustStart(t, s, shSpec(t, "again", "job", 1, "exit 4"))
	waitFor(t, "crashed", func() bool { return p.Status().State == procman.StateCrashed })
	if st := p.Status(); st.ExitCode != 4 {
		t.Fatalf("Status()=%+v, want exit code 4", st)
	}
	select {
	case <-p.Done():
		t.Fatal("Done closed on a crash under RestartAlways")
	default:
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	out := func(procman.Line) {}
	tests := []struct {
		name    string
		cfg     procman.Config
		wantErr string
	}{
		{name: "log dir", cfg: procman.Config{LogDir: "/tmp/x"}},
		{name: "output only", cfg: procman.Config{Output: out}},
		{name: "neither", cfg: procman.Config{}, wantErr: "LogDir is required unless Output is set"},
		{name: "negative timeout", cfg: procman.Config{Output: out, StopTimeout: -1}, wantErr: "StopTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
	s := procman.New(procman.Config{})
	if _, err := s.Start(procman.Spec{App: "a", Type: "web", Index: 1, Command: "true"}); err == nil {
		t.Fatal("Start without LogDir or Output succeeded")
	}
}

func TestUnknownRestartPolicy(t *testing.T) {
	t.Parallel()
	s := newSupervisor(t, procman.Config{})
	spec := shSpec(t, "policy", "web", 1, "true")
	spec.Restart = 9
	if _, err := s.Start(spec); !errors.Is(err, procman.ErrSpec) {
		t.Fatalf("Start() error = %v, want ErrSpec", err)
	}
}
