package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/testutil"
	"github.com/nua-paas/nua/notify"
)

func hook(url string) nua.Notification {
	return nua.Notification{Name: "ops", Kind: nua.NotifyWebhook, Target: url, Events: nua.NotifyEvents, Secret: "k3y"}
}

var failed = nua.Notice{Event: nua.EventDeploy, App: "shop", Text: "shop: the deploy of abc1234 failed", Time: time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC)}

// TestWebhookSigned delivers a notice whose body carries the notice and
// whose signature the receiver checks with the shared secret.
func TestWebhookSigned(t *testing.T) {
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer srv.Close()
	s := &notify.Sender{Server: "nua.example.org"}
	if err := s.Send(context.Background(), hook(srv.URL), failed); err != nil {
		t.Fatal(err)
	}
	r, body := <-got, <-bodies
	m := hmac.New(sha256.New, []byte("k3y"))
	m.Write(body)
	if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); r.Header.Get(notify.SignatureHeader) != want {
		t.Errorf("signature %q, want %q", r.Header.Get(notify.SignatureHeader), want)
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get(notify.EventHeader) != "deploy" {
		t.Errorf("request %s %v", r.Method, r.Header)
	}
	var p struct {
		Event, App, Text, Server string
		OK                       bool
		Time                     time.Time
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Event != "deploy" || p.App != "shop" || p.OK || p.Text != failed.Text || p.Server != "nua.example.org" || !p.Time.Equal(failed.Time) {
		t.Errorf("body %s", body)
	}
}

// TestWebhookRetries retries a receiver that fails with 503 until it
// answers, and gives up at once on a 404.
func TestWebhookRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/gone") {
			calls.Add(100)
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	s := &notify.Sender{Backoff: time.Millisecond}
	if err := s.Send(context.Background(), hook(srv.URL), failed); err != nil {
		t.Fatalf("Send: %v after %d calls", err, calls.Load())
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d calls, want 2 failures then success", n)
	}
	calls.Store(0)
	err := s.Send(context.Background(), hook(srv.URL+"/gone"), failed)
	if err == nil || !strings.Contains(err.Error(), "404") || calls.Load() != 100 {
		t.Fatalf("Send to a 404: %v after %d, want one try and the status", err, calls.Load())
	}
}

// TestWebhookHangs bounds a receiver that never answers: every try times
// out, Send returns, and no goroutine is left behind.
func TestWebhookHangs(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	s := &notify.Sender{Attempts: 2, Backoff: time.Millisecond, Timeout: 100 * time.Millisecond}
	start := time.Now()
	err := s.Send(context.Background(), hook(srv.URL), failed)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send to a hanging receiver: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Send took %s", d)
	}
	// The server's handlers still hang; the client side is gone: no
	// connection of the client's and nothing of the Sender runs on.
	testutil.Eventually(t, 5*time.Second, "the client's goroutines gone", func() (bool, string) {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		left := strings.Contains(stacks, "net/http.(*persistConn)") || strings.Contains(stacks, "notify.(*Sender)")
		return !left, stacks
	})
}

// TestEmail sends through a real SMTP server, Debian's aiosmtpd, into a
// maildir, and fails clearly when no relay listens.
func TestEmail(t *testing.T) {
	addr, maildir := startSMTP(t)
	s := &notify.Sender{SMTP: notify.SMTP{Addr: addr, From: "nua@example.org"}, Server: "nua.example.org"}
	to := nua.Notification{Name: "alice", Kind: nua.NotifyEmail, Target: "alice@example.org", Events: nua.NotifyEvents}
	notice := failed
	notice.Text = "line one\n.\nline three"
	if err := s.Send(context.Background(), to, notice); err != nil {
		t.Fatal(err)
	}
	var msg string
	testutil.Eventually(t, 10*time.Second, "the mail in the maildir", func() (bool, string) {
		files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
		if len(files) == 0 {
			return false, "no mail"
		}
		b, _ := os.ReadFile(files[0])
		msg = string(b)
		return true, ""
	})
	for _, want := range []string{"From: nua@example.org", "To: alice@example.org", "Subject: [nua] deploy shop: failed", "line one\n.\nline three"} {
		if !strings.Contains(strings.ReplaceAll(msg, "\r\n", "\n"), want) {
			t.Errorf("mail lacks %q:\n%s", want, msg)
		}
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	s = &notify.Sender{SMTP: notify.SMTP{Addr: closed, From: "nua@example.org"}, Attempts: 2, Backoff: time.Millisecond}
	if err := s.Send(context.Background(), to, notice); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Send to a closed port: %v, want connection refused", err)
	}
	s = &notify.Sender{}
	if err := s.Send(context.Background(), to, notice); err == nil || !strings.Contains(err.Error(), "--smtp-addr") {
		t.Fatalf("Send without a relay: %v, want the flag named", err)
	}
}

// startSMTP starts aiosmtpd delivering to a maildir and returns its
// address. aiosmtpd cannot report a port of its own choosing, so it gets
// one just freed.
func startSMTP(t *testing.T) (addr, maildir string) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import aiosmtpd").Run(); err != nil {
		msg := "aiosmtpd is not installed: run `make deps` (apt-get install python3-aiosmtpd)"
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	maildir = filepath.Join(t.TempDir(), "maildir")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(debianPython, "-m", "aiosmtpd", "-n", "-l", host+":"+port, "-c", "aiosmtpd.handlers.Mailbox", maildir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testutil.Eventually(t, 20*time.Second, "aiosmtpd listening", func() (bool, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	return addr, maildir
}

// debianPython is the Python that Debian's python3-aiosmtpd installs into.
const debianPython = "/usr/bin/python3"
