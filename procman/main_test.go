package procman_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/procman"
)

// childEnv switches the test binary into one of the child programs below.
const childEnv = "PROCMAN_TEST_CHILD"

// parentOnlyEnv is set in the test process only; children must not see it.
const parentOnlyEnv = "PROCMAN_TEST_PARENT_ONLY"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Setenv(parentOnlyEnv, "leaked")
	os.Exit(m.Run())
}

// runChild is the child program for mode.
func runChild(mode string) int {
	switch mode {
	case "env":
		fmt.Printf("PORT=%s PS=%s FOO=%s LEAK=%s\n",
			os.Getenv("PORT"), os.Getenv("PS"), os.Getenv("FOO"), os.Getenv(parentOnlyEnv))
	case "sleep":
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
	case "graceful":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("ready")
		<-c
		fmt.Println("got SIGTERM")
		return 0
	case "grandchild", "orphan":
		gc := exec.Command(os.Args[0])
		gc.Env = append(os.Environ(), childEnv+"=sleep")
		if err := gc.Start(); err != nil {
			fmt.Println(err)
			return 2
		}
		fmt.Printf("child %d grandchild %d\n", os.Getpid(), gc.Process.Pid)
		if mode == "orphan" {
			return 1
		}
	case "daemon":
		return runDaemon()
	case "spew":
		n, _ := strconv.Atoi(os.Getenv("SPEW_LINES"))
		w := bufio.NewWriter(os.Stdout)
		for i := range n {
			fmt.Fprintf(w, "line %06d %s\n", i, strings.Repeat("x", 20))
		}
		fmt.Fprintln(w, "done")
		w.Flush()
	case "long":
		fmt.Println(strings.Repeat("x", 40000))
		fmt.Fprintln(os.Stderr, "end")
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode", mode)
		return 2
	}
	time.Sleep(time.Hour)
	return 0
}

// runDaemon supervises one "grandchild" process and reports its pid; the
// test kills it to play a daemon that dies without cleaning up.
func runDaemon() int {
	s := procman.New(procman.Config{LogDir: os.Getenv(logDirEnv)})
	p, err := s.Start(procman.Spec{
		App: "orphans", Type: "web", Index: 1,
		Command: shellQuote(os.Args[0]) + "; true",
		Env:     []string{"GORACE=atexit_sleep_ms=0", childEnv + "=grandchild"},
	})
	if err != nil {
		fmt.Println(err)
		return 2
	}
	fmt.Printf("leader %d\n", p.Status().PID)
	time.Sleep(time.Hour)
	return 0
}

// logDirEnv passes the log dir to the "daemon" child.
const logDirEnv = "PROCMAN_TEST_LOGDIR"

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// newSupervisor returns a Supervisor logging under a temp dir, closed at
// the end of the test.
func newSupervisor(t *testing.T, cfg procman.Config) *procman.Supervisor {
	t.Helper()
	if cfg.LogDir == "" {
		cfg.LogDir = t.TempDir()
	}
	s := procman.New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// childSpec runs the test binary as child program mode.
func childSpec(t *testing.T, app, typ string, index int, mode string, env ...string) procman.Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return procman.Spec{
		App:     app,
		Type:    typ,
		Index:   index,
		Command: shellQuote(exe),
		Dir:     t.TempDir(),
		// A race-enabled binary otherwise lingers a second at exit.
		Env: append([]string{"PATH=" + os.Getenv("PATH"), "GORACE=atexit_sleep_ms=0", childEnv + "=" + mode}, env...),
	}
}

// shSpec runs a /bin/sh one-liner.
func shSpec(t *testing.T, app, typ string, index int, command string) procman.Spec {
	t.Helper()
	return procman.Spec{
		App: app, Type: typ, Index: index, Command: command,
		Dir: t.TempDir(), Env: []string{"PATH=" + os.Getenv("PATH")},
	}
}

func mustStart(t *testing.T, s *procman.Supervisor, spec procman.Spec) *procman.Process {
	t.Helper()
	p, err := s.Start(spec)
	if err != nil {
		t.Fatalf("Start(%s): %v", spec.Name(), err)
	}
	return p
}

func mustStop(t *testing.T, p *procman.Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop(%s): %v", p.Spec().Name(), err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readLog returns a log file's content, "" if it does not exist.
func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// waitLog waits until the log file contains want and returns its content.
func waitLog(t *testing.T, path, want string) string {
	t.Helper()
	var got string
	waitFor(t, fmt.Sprintf("%q in %s", want, filepath.Base(path)), func() bool {
		got = readLog(t, path)
		return strings.Contains(got, want)
	})
	return got
}

// gone reports whether pid no longer runs (absent or a zombie).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}
