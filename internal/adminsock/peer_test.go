package adminsock_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/nua-paas/nua/internal/adminsock"
)

// childSocket, when set, makes the test binary a client of the socket at
// that path: it calls `apps` and prints the exit status.
const childSocket = "NUA_ADMINSOCK_TEST_CLIENT"

func TestMain(m *testing.M) {
	if path := os.Getenv(childSocket); path != "" {
		code, err := adminsock.Call(context.Background(), path, adminsock.Request{Args: []string{"apps"}}, nil, os.Stdout, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "call:", err)
			os.Exit(100)
		}
		fmt.Printf("exit=%d\n", code)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRefusesOtherUsers connects, as root, from a child process running
// as another uid to a socket that uid can reach (as if its mode had been
// widened): the server refuses it with one line and runs nothing.
func TestRefusesOtherUsers(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal("needs root to run a client as another uid (NUA_E2E=require)")
		}
		t.Skip("needs root to run a client as another uid")
	}
	// A directory every uid can pass through, with the test binary in it:
	// the child execs it after dropping to nobody.
	dir, err := os.MkdirTemp("", "nua-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := copyTestBinary(t, dir)

	var ran atomic.Bool
	path := filepath.Join(dir, "nua.sock")
	ln, err := adminsock.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		adminsock.Serve(context.Background(), ln, func(context.Context, adminsock.Request, io.Reader, io.Writer, io.Writer) int {
			ran.Store(true)
			return 0
		})
		close(done)
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}

	const nobody = 65534
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childSocket+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("client as uid %d: %v\nstdout: %s\nstderr: %s", nobody, err, &stdout, &stderr)
	}
	if got, want := stdout.String(), "exit=1\n"; got != want {
		t.Fatalf("client's stdout %q, want %q (stderr %q)", got, want, &stderr)
	}
	msg := stderr.String()
	if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, fmt.Sprintf("uid %d may not run nua commands", nobody)) || !strings.Contains(msg, "sudo") {
		t.Fatalf("refusal %q, want one line naming the uid and what to do", msg)
	}
	if ran.Load() {
		t.Fatal("the handler ran for a refused uid")
	}

	// Root still gets in, and the handler learns its uid.
	var uid atomic.Int64
	uid.Store(-1)
	path2 := serve(t, func(_ context.Context, req adminsock.Request, _ io.Reader, _, _ io.Writer) int {
		uid.Store(int64(req.UID))
		return 0
	})
	if code, err := adminsock.Call(context.Background(), path2, adminsock.Request{Args: []string{"apps"}}, nil, io.Discard, io.Discard); err != nil || code != 0 {
		t.Fatalf("root: %d, %v", code, err)
	}
	if uid.Load() != 0 {
		t.Fatalf("handler saw uid %d, want 0", uid.Load())
	}
}

// copyTestBinary copies the running test binary into dir, readable and
// executable by everyone.
func copyTestBinary(t *testing.T, dir string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "client.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
