package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2ESecondSignalForcesStop checks how the daemon stops: the first
// SIGTERM waits for open SSH sessions, a second ends nua at once, and its
// children (an app's process, Traefik) go with it.
func TestE2ESecondSignalForcesStop(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	mustPush(t, s, testutil.NewRepo(t, "procfile"), "held")
	traefik := testutil.ChildPID(s.PID(), "traefik")
	web := testutil.ChildPID(s.PID(), "server.pl")
	if traefik == 0 || web == 0 {
		t.Fatalf("children of nua: traefik=%d web=%d", traefik, web)
	}

	// A session following the logs holds the graceful stop.
	follower := sshCmd(s, "logs", "-t", "held")
	if err := follower.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	go func() {
		follower.Wait()
		close(ended)
	}()
	t.Cleanup(func() {
		follower.Process.Kill()
		<-ended
	})
	testutil.Eventually(t, 30*time.Second, "the follower's session open", func() (bool, string) {
		log := s.Log()
		for line := range strings.Lines(log) {
			if strings.Contains(line, "msg=command component=sshd ") && strings.Contains(line, `args="[logs -t held]"`) {
				return true, ""
			}
		}
		return false, log[max(0, len(log)-2000):]
	})

	from := len(s.Log())
	s.Signal(syscall.SIGTERM)
	testutil.Eventually(t, 30*time.Second, "the server stopping", func() (bool, string) {
		return strings.Contains(s.Log()[from:], "msg=stopping"), s.Log()[from:]
	})
	if st := s.Exited(0); st != nil {
		t.Fatalf("server exited (%v) on the first SIGTERM while an SSH session was open:\n%s", st, s.Log()[from:])
	}
	s.Signal(syscall.SIGTERM)
	st := s.Exited(10 * time.Second)
	if st == nil {
		t.Fatalf("server still running 10s after a second SIGTERM:\n%s", s.Log()[from:])
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("server ended with %v, want killed by the second SIGTERM:\n%s", st, s.Log()[from:])
	}
	for name, pid := range map[string]int{"traefik": traefik, "web": web} {
		testutil.Eventually(t, 10*time.Second, name+" gone with the server", func() (bool, string) {
			_, err := os.Stat(filepath.Join("/proc", itoa(pid)))
			return os.IsNotExist(err), ""
		})
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the follower's ssh still connected 10s after the server was gone")
	}
}
