package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/addons/supervisor"
)

func sleeper(t *testing.T, dir string) supervisor.Spec {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	sleep, _ = filepath.EvalSymlinks(sleep)
	return supervisor.Spec{Name: "sleeper", Path: sleep, Args: []string{"1000"},
		PIDFile: filepath.Join(dir, "sleeper.pid"), Log: filepath.Join(dir, "sleeper.log")}
}

func newSupervisor(t *testing.T) *supervisor.Supervisor {
	s := supervisor.New(supervisor.Config{Backoff: 10 * time.Millisecond, StopTimeout: 5 * time.Second})
	t.Cleanup(func() { s.Close(t.Context()) })
	return s
}

// eventually polls cond every 10ms for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRestartsACrashedServer(t *testing.T) {
	s := newSupervisor(t)
	spec := sleeper(t, t.TempDir())
	if err := s.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status("sleeper")
	if got := supervisor.PIDOf(spec.PIDFile); got != st.PID || got == 0 {
		t.Fatalf("pid file names %d, supervisor %d", got, st.PID)
	}
	syscall.Kill(st.PID, syscall.SIGKILL)
	eventually(t, "restarted", func() bool {
		now, _ := s.Status("sleeper")
		return now.Restarts == 1 && now.PID != 0 && now.PID != st.PID
	})
	s.Stop("sleeper")
	if _, err := os.Stat(spec.PIDFile); !os.IsNotExist(err) {
		t.Fatalf("pid file after Stop: %v", err)
	}
}

// TestReplacesAnOrphan starts a server as a killed daemon would have left
// it: Start stops it before starting its own.
func TestReplacesAnOrphan(t *testing.T) {
	dir := t.TempDir()
	spec := sleeper(t, dir)
	orphan := exec.Command(spec.Path, "1000")
	orphan.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- orphan.Wait() }()
	os.WriteFile(spec.PIDFile, []byte(fmt.Sprintf("%d %s\n", orphan.Process.Pid, spec.Path)), 0o600)
	s := newSupervisor(t)
	if err := s.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the orphan still runs")
	}
	if st, _ := s.Status("sleeper"); st.PID == orphan.Process.Pid || st.PID == 0 {
		t.Fatalf("status %+v", st)
	}
}

// TestLeavesAReusedPID: a pid file naming a process of another program
// (its pid reused) does not get that process killed.
func TestLeavesAReusedPID(t *testing.T) {
	dir := t.TempDir()
	spec := sleeper(t, dir)
	other := exec.Command("cat")
	other.Stdin, _ = os.Open("/dev/zero")
	other.Stdout, _ = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	os.WriteFile(spec.PIDFile, []byte(fmt.Sprintf("%d %s\n", other.Process.Pid, spec.Path)), 0o600)
	s := newSupervisor(t)
	if err := s.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("another program's process was killed: %v", err)
	}
}

func TestFailedStartSaysWhy(t *testing.T) {
	dir := t.TempDir()
	spec := supervisor.Spec{Name: "false", Path: "/bin/sh", Args: []string{"-c", "echo no config here; exit 3"},
		PIDFile: filepath.Join(dir, "x.pid"), Log: filepath.Join(dir, "x.log"),
		Ready: func(ctx context.Context) error { return errors.New("not yet") }}
	s := newSupervisor(t)
	err := s.Start(t.Context(), spec)
	if err == nil || !strings.Contains(err.Error(), "no config here") {
		t.Fatalf("Start = %v, want an error with the server's last words", err)
	}
	if _, running := s.Status("false"); running {
		t.Fatal("a failed start is still supervised")
	}
}
