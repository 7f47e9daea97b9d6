package procman_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
	"github.com/nua-paas/nua/procman"
)

var logLineRe = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (app|nua)\[[A-Za-z0-9_.-]+\]: `)

// mustLogs runs a non-following Logs and returns its lines.
func mustLogs(t *testing.T, s *procman.Supervisor, app string, opt procman.LogOptions) []string {
	t.Helper()
	var b bytes.Buffer
	if err := s.Logs(context.Background(), app, opt, &b); err != nil {
		t.Fatalf("Logs(%s, %+v): %v", app, opt, err)
	}
	if b.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
}

// indexOf returns the index of the first line containing sub, or -1.
func indexOf(lines []string, sub string) int {
	return slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, sub) })
}

func TestLogsMerged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSupervisor(t, procman.Config{LogDir: dir})
	web := mustStart(t, s, shSpec(t, "merge", "web", 1, "echo one; exec sleep 100"))
	waitLog(t, filepath.Join(dir, "merge", "web.1.log"), "one")
	s.Event("merge", "deploy", "released v3\nsecond line")
	s.Event("merge", "bad source!", "odd")
	worker := mustStart(t, s, shSpec(t, "merge", "worker", 1, "echo two >&2; exec sleep 100"))
	waitLog(t, filepath.Join(dir, "merge", "worker.1.log"), "two")

	all := mustLogs(t, s, "merge", procman.LogOptions{})
	var prev string
	for _, l := range all {
		m := logLineRe.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("bad log line %q", l)
		}
		if m[1] < prev { // fixed-width timestamps compare as strings
			t.Fatalf("lines out of order:\n%s", strings.Join(all, "\n"))
		}
		prev = m[1]
	}
	order := []string{
		"nua[web.1]: Starting process with command",
		"app[web.1]: one",
		"nua[deploy]: released v3",
		"nua[deploy]: second line",
		"nua[nua]: odd",
		"nua[worker.1]: Starting process",
		"app[worker.1]: two",
	}
	last := -1
	for _, want := range order {
		i := indexOf(all, want)
		if i <= last {
			t.Fatalf("%q at %d, want after %d:\n%s", want, i, last, strings.Join(all, "\n"))
		}
		last = i
	}

	t.Run("last lines", func(t *testing.T) {
		for _, n := range []int{1, 2} {
			if got := mustLogs(t, s, "merge", procman.LogOptions{Lines: n}); !slices.Equal(got, all[len(all)-n:]) {
				t.Fatalf("Lines=%d gave %q, want %q", n, got, all[len(all)-n:])
			}
		}
	})
	t.Run("type filter", func(t *testing.T) {
		got := mustLogs(t, s, "merge", procman.LogOptions{Type: "worker"})
		if indexOf(got, "app[worker.1]: two") < 0 {
			t.Fatalf("worker lines lack its output: %q", got)
		}
		for _, l := range got {
			if !strings.Contains(l, "[worker.1]: ") {
				t.Fatalf("Type=worker gave %q", l)
			}
		}
	})
	t.Run("no processes running", func(t *testing.T) {
		mustStop(t, web)
		mustStop(t, worker)
		fresh := procman.New(procman.Config{LogDir: dir})
		got := mustLogs(t, fresh, "merge", procman.LogOptions{Lines: 1000})
		if len(got) <= len(all) || !slices.Equal(got[:len(all)], all) {
			t.Fatalf("after stop got %q, want %q followed by stop events", got, all)
		}
		if indexOf(got[len(all):], "nua[web.1]: Stopping process with SIGTERM") < 0 {
			t.Fatalf("stop event missing: %q", got[len(all):])
		}
	})
	t.Run("missing app", func(t *testing.T) {
		if got := mustLogs(t, s, "nosuchapp", procman.LogOptions{}); got != nil {
			t.Fatalf("Logs(nosuchapp) = %q, want nothing", got)
		}
	})
	t.Run("invalid app", func(t *testing.T) {
		err := s.Logs(context.Background(), "../merge", procman.LogOptions{}, &bytes.Buffer{})
		if !errors.Is(err, procman.ErrAppName) {
			t.Fatalf("Logs(../merge) error = %v, want ErrAppName", err)
		}
	})
}

func TestLogsFollow(t *testing.T) {
	t.Parallel()
	s := newSupervisor(t, procman.Config{})
	s.Event("follow", "deploy", "before")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testutil.Buffer
	errc := make(chan error, 1)
	go func() { errc <- s.Logs(ctx, "follow", procman.LogOptions{Follow: true}, &out) }()
	waitFor(t, "backlog", func() bool { return strings.Contains(out.String(), "nua[deploy]: before") })

	s.Event("other", "deploy", "not mine")
	s.Event("follow", "deploy", "after")
	mustStart(t, s, shSpec(t, "follow", "web", 1, "echo hello from later; exec sleep 100"))
	waitFor(t, "followed lines", func() bool {
		o := out.String()
		return strings.Contains(o, "nua[deploy]: after") && strings.Contains(o, "app[web.1]: hello from later")
	})
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Logs: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Logs did not return after cancel")
	}
	o := out.String()
	if n := strings.Count(o, "before"); n != 1 {
		t.Fatalf("backlog line printed %d times:\n%s", n, o)
	}
	if strings.Contains(o, "not mine") {
		t.Fatalf("another app's line followed:\n%s", o)
	}
	for l := range strings.Lines(o) {
		if !logLineRe.MatchString(l) {
			t.Fatalf("bad followed line %q", l)
		}
	}
}

// blockingWriter blocks every Write until unblock is closed.
type blockingWriter struct {
	once    sync.Once
	started chan struct{}
	unblock chan struct{}
	out     testutil.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	<-w.unblock
	return w.out.Write(p)
}

func TestFollowSlowReaderNeverBlocksProcess(t *testing.T) {
	t.Parallel()
	s := newSupervisor(t, procman.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &blockingWriter{started: make(chan struct{}), unblock: make(chan struct{})}
	errc := make(chan error, 1)
	go func() { errc <- s.Logs(ctx, "slow", procman.LogOptions{Follow: true}, w) }()
	waitFor(t, "follower subscribed", func() bool {
		s.Event("slow", "deploy", "ping")
		select {
		case <-w.started:
			return true
		default:
			return false
		}
	})
	mustStart(t, s, childSpec(t, "slow", "web", 1, "spew", "SPEW_LINES=20000"))
	// The follower is stuck in Write; the process must still get all its output out.
	waitLog(t, filepath.Join(s.LogDir(), "slow", "web.1.log"), " done\n")
	close(w.unblock)
	waitFor(t, "drop notice", func() bool { return strings.Contains(w.out.String(), "nua[logs]: ") })
	if !regexp.MustCompile(`nua\[logs\]: \d+ lines dropped`).MatchString(w.out.String()) {
		t.Fatalf("drop notice malformed:\n%.2000s", w.out.String())
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Logs: %v", err)
	}
}

func TestLogRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSupervisor(t, procman.Config{LogDir: dir, MaxLogSize: 4096, LogFiles: 2})
	mustStart(t, s, childSpec(t, "rot", "web", 1, "spew", "SPEW_LINES=300"))
	base := filepath.Join(dir, "rot", "web.1.log")
	waitLog(t, base, " done\n")

	var fromFiles []string // app lines, oldest first
	for _, name := range []string{base + ".2", base + ".1", base} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() == 0 || fi.Size() > 4096 {
			t.Fatalf("%s is %d bytes, want 1..4096", filepath.Base(name), fi.Size())
		}
		for l := range strings.Lines(readLog(t, name)) {
			_, text, _ := strings.Cut(strings.TrimSuffix(l, "\n"), " ")
			fromFiles = append(fromFiles, text)
		}
	}
	if _, err := os.Stat(base + ".3"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s.3 exists (err %v); only 2 old files should be kept", filepath.Base(base), err)
	}
	checkContiguous(t, fromFiles)

	var fromLogs []string
	for _, l := range mustLogs(t, s, "rot", procman.LogOptions{Lines: 1000, Type: "web"}) {
		if _, text, ok := strings.Cut(l, " app[web.1]: "); ok {
			fromLogs = append(fromLogs, text)
		}
	}
	if !slices.Equal(fromLogs, fromFiles) {
		t.Fatalf("Logs gave %d lines, files hold %d:\n%q\n%q", len(fromLogs), len(fromFiles), fromLogs, fromFiles)
	}
}

// checkContiguous checks lines are "line N …" for consecutive N, ending in
// "done", with the oldest lines rotated away.
func checkContiguous(t *testing.T, lines []string) {
	t.Helper()
	if len(lines) < 2 || lines[len(lines)-1] != "done" {
		t.Fatalf("lines do not end in done: %q", lines)
	}
	var first int
	if _, err := fmt.Sscanf(lines[0], "line %d", &first); err != nil || first == 0 {
		t.Fatalf("first kept line %q: want a line after 0 (err %v)", lines[0], err)
	}
	for i, l := range lines[:len(lines)-1] {
		want := fmt.Sprintf("line %06d ", first+i)
		if !strings.HasPrefix(l, want) {
			t.Fatalf("line %d = %q, want prefix %q", i, l, want)
		}
	}
	if got := first + len(lines) - 2; got != 299 {
		t.Fatalf("last numbered line %d, want 299", got)
	}
}

func TestLongLinesSplit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSupervisor(t, procman.Config{LogDir: dir})
	mustStart(t, s, childSpec(t, "long", "web", 1, "long"))
	content := waitLog(t, filepath.Join(dir, "long", "web.1.log"), " end\n")
	var lens []int
	for l := range strings.Lines(content) {
		_, text, _ := strings.Cut(strings.TrimSuffix(l, "\n"), " ")
		if strings.Trim(text, "x") == "" {
			lens = append(lens, len(text))
		}
	}
	if want := []int{16384, 16384, 7232}; !slices.Equal(lens, want) {
		t.Fatalf("long line split into %v, want %v", lens, want)
	}
}

// TestOutput checks that lines written to Output show in the app's logs
// as those of their process, and that a bad name is refused.
func TestOutput(t *testing.T) {
	s := procman.New(procman.Config{LogDir: t.TempDir()})
	t.Cleanup(func() { s.Close(context.Background()) })
	w, err := s.Output("shop", "cron.2")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "first line\nsecond ")
	fmt.Fprint(w, "line, unfinished")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := s.Logs(context.Background(), "shop", procman.LogOptions{}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"app[cron.2]: first line\n", "app[cron.2]: second line, unfinished\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, out.String())
		}
	}
	for _, bad := range []string{"cron", "cron.", "cron.x", "../x.1", "cron.1/../../x"} {
		if _, err := s.Output("shop", bad); err == nil {
			t.Errorf("Output(%q) accepted", bad)
		}
	}
	if _, err := s.Output("../etc", "cron.1"); err == nil {
		t.Error("Output for app ../etc accepted")
	}
}
