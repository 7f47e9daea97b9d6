package static_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/toolchains/static"
)

// TestServeLoopbackOnly checks that `nua serve-static` listens on
// 127.0.0.1 only, as the kernel lists its socket, and answers there.
func TestServeLoopbackOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/index.html", []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- static.Serve(ctx, dir, strconv.Itoa(port)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on 127.0.0.1:%d: %v", port, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, want := listeners(t, port), []string{"0100007F"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sockets listening on port %d bound to %q, want 127.0.0.1 (%q) only", port, got, want)
	}
}

// listeners lists the local addresses (as /proc/net/tcp writes them) of
// the sockets listening on port.
func listeners(t *testing.T, port int) []string {
	t.Helper()
	var addrs []string
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("list sockets: %v", err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" { // 0A = LISTEN
				continue
			}
			ip, p, _ := strings.Cut(f[1], ":")
			if n, err := strconv.ParseInt(p, 16, 32); err == nil && int(n) == port {
				addrs = append(addrs, ip)
			}
		}
	}
	return addrs
}

func TestServeBadPort(t *testing.T) {
	for _, port := range []string{"", "0", "70000", "80; rm", ":5000"} {
		if err := static.Serve(t.Context(), t.TempDir(), port); err == nil || !strings.Contains(err.Error(), "give a port number") {
			t.Errorf("Serve(port %q) = %v, want refused", port, err)
		}
	}
}
