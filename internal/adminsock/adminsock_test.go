package adminsock_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/adminsock"
)

func serve(t *testing.T, h adminsock.Handler) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nua.sock")
	ln, err := adminsock.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { adminsock.Serve(context.Background(), ln, h); close(done) }()
	t.Cleanup(func() { ln.Close(); <-done })
	return path
}

func TestCall(t *testing.T) {
	path := serve(t, func(ctx context.Context, req adminsock.Request, in io.Reader, out, errw io.Writer) int {
		b, _ := io.ReadAll(in)
		io.WriteString(out, strings.Join(req.Args, ",")+":"+string(b))
		io.WriteString(errw, "user="+req.User)
		return 7
	})
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	var out, errw bytes.Buffer
	big := strings.Repeat("x", 3<<20) // crosses several frames
	code, err := adminsock.Call(context.Background(), path, adminsock.Request{Args: []string{"a", "b"}, User: "me"}, strings.NewReader(big), &out, &errw)
	if err != nil || code != 7 {
		t.Fatalf("Call=%d, %v; want 7", code, err)
	}
	if got, want := out.String(), "a,b:"+big; got != want {
		t.Fatalf("stdout has %d bytes, want %d", len(got), len(want))
	}
	if errw.String() != "user=me" {
		t.Fatalf("stderr=%q", errw.String())
	}
}

// TestClientGoneCancels checks a command stops when its client goes away,
// as `logs -t` must when the user presses Ctrl-C.
func TestClientGoneCancels(t *testing.T) {
	canceled := make(chan struct{})
	path := serve(t, func(ctx context.Context, _ adminsock.Request, _ io.Reader, out, _ io.Writer) int {
		io.WriteString(out, "started\n")
		<-ctx.Done()
		close(canceled)
		return 0
	})
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 8)
		pr.Read(buf)
		cancel()
	}()
	adminsock.Call(ctx, path, adminsock.Request{Args: []string{"logs"}}, nil, pw, io.Discard)
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("command not canceled after its client went away")
	}
}

func TestListenRefusesRunningServer(t *testing.T) {
	path := serve(t, func(context.Context, adminsock.Request, io.Reader, io.Writer, io.Writer) int { return 0 })
	if _, err := adminsock.Listen(path); err == nil {
		t.Fatal("second Listen on a live socket succeeded")
	}
}
