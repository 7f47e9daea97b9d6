package sshd_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/sshd"
	gossh "golang.org/x/crypto/ssh"
)

func newSigner(t *testing.T) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testServer starts a server on 127.0.0.1:0 with cfg's limits that
// authorises key; cmd, if set, handles command lines (default: exit 0).
func testServer(t *testing.T, cfg sshd.Config, key gossh.Signer) string {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.HostKey = filepath.Join(t.TempDir(), "host_key")
	cfg.Authorize = func(k gossh.PublicKey) (string, bool) {
		return "tester", bytes.Equal(k.Marshal(), key.PublicKey().Marshal())
	}
	if cfg.Command == nil {
		cfg.Command = func(context.Context, sshd.Session) int { return 0 }
	}
	cfg.Git = func(context.Context, sshd.Session, string, string) int { return 0 }
	s := sshd.New(cfg)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close(context.Background()) })
	return s.Addr().String()
}

func dial(addr string, keys ...gossh.Signer) (*gossh.Client, error) {
	return gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User: "nua", Auth: []gossh.AuthMethod{gossh.PublicKeys(keys...)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
}

// runCmd runs cmd on a new connection and returns its output.
func runCmd(addr, cmd string, keys ...gossh.Signer) (string, error) {
	c, err := dial(addr, keys...)
	if err != nil {
		return "", err
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(cmd)
	return string(out), err
}

// rawConn opens a TCP connection that speaks no SSH and returns the
// server's first line (its version), or "" when the server closed first.
func rawConn(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("read from server: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	return c, line
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

// waitClosed waits until the server closes c, for at most limit.
func waitClosed(t *testing.T, c net.Conn, limit time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", limit)
	}
}

// poll calls fn until it returns nil or the deadline passes.
func poll(t *testing.T, limit time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHandshakeTimeout checks a client that connects and says nothing is
// dropped after the handshake timeout, while an authenticated session may
// last longer than it.
func TestHandshakeTimeout(t *testing.T) {
	key := newSigner(t)
	const timeout = 300 * time.Millisecond
	addr := testServer(t, sshd.Config{
		HandshakeTimeout: timeout,
		Command: func(ctx context.Context, s sshd.Session) int {
			select { // a command that outlives the handshake timeout
			case <-time.After(4 * timeout):
				return 5
			case <-ctx.Done():
				return 1
			}
		},
	}, key)

	start := time.Now()
	c, line := rawConn(t, addr)
	if !strings.HasPrefix(line, "SSH-2.0-nua") {
		t.Fatalf("server's first line %q, want its version", line)
	}
	waitClosed(t, c, 10*time.Second)
	if took := time.Since(start); took < timeout {
		t.Fatalf("silent client dropped after %v, before the %v timeout", took, timeout)
	}

	_, err := runCmd(addr, "long", key)
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 5 {
		t.Fatalf("long command: %v, want exit status 5", err)
	}
}

// TestUnauthenticatedCap checks connections past the cap on
// unauthenticated ones are closed at once, authenticated ones do not
// count, and a freed slot admits the next client.
func TestUnauthenticatedCap(t *testing.T) {
	key := newSigner(t)
	const max = 3
	addr := testServer(t, sshd.Config{MaxUnauthenticated: max, HandshakeTimeout: time.Minute}, key)

	authed, err := dial(addr, key) // holds no slot once authenticated
	if err != nil {
		t.Fatal(err)
	}
	defer authed.Close()
	var held []net.Conn
	for i := range max {
		c, line := rawConn(t, addr)
		if !strings.HasPrefix(line, "SSH-2.0-") {
			t.Fatalf("connection %d: first line %q, want the server's version", i+1, line)
		}
		held = append(held, c)
	}
	c, line := rawConn(t, addr)
	if line != "" {
		t.Fatalf("connection past the cap got %q, want it closed", line)
	}
	waitClosed(t, c, 10*time.Second)
	if _, err := runCmd(addr, "apps", key); err == nil {
		t.Fatal("an authorised client got in past the cap")
	}
	if sess, err := authed.NewSession(); err != nil {
		t.Fatalf("authenticated connection: %v", err)
	} else if err := sess.Run("apps"); err != nil {
		t.Fatalf("authenticated connection: %v", err)
	}

	held[0].Close()
	poll(t, 10*time.Second, func() error {
		_, err := runCmd(addr, "apps", key)
		return err
	})
}

// TestFailedLoginsRefuseAddress checks an address that failed too often
// is refused, even with a good key, until the ban is over; and that a
// client whose agent offers a wrong key before the right one is not
// counted against.
func TestFailedLoginsRefuseAddress(t *testing.T) {
	key, stranger := newSigner(t), newSigner(t)
	const ban = 1500 * time.Millisecond
	addr := testServer(t, sshd.Config{MaxAuthFailures: 3, FailureWindow: time.Minute, BanTime: ban}, key)

	for i := range 5 {
		if _, err := runCmd(addr, "apps", stranger, key); err != nil {
			t.Fatalf("login %d with a wrong key first, then the right one: %v", i+1, err)
		}
	}
	var banned time.Time
	for i := range 3 {
		_, err := runCmd(addr, "apps", stranger)
		if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Fatalf("unknown key, try %d: %v, want it refused as usual", i+1, err)
		}
		banned = time.Now()
	}
	// The server counts a failure when the failed connection closes on
	// its side, a moment after the client gave up.
	poll(t, 5*time.Second, func() error {
		c, line := rawConn(t, addr)
		c.Close() // before any timeout could count it
		if !strings.Contains(line, "too many failed logins") {
			return fmt.Errorf("refused address got %q, want a line saying why", line)
		}
		return nil
	})
	if _, err := runCmd(addr, "apps", key); err == nil {
		t.Fatal("the right key got in from a refused address")
	}
	poll(t, 10*time.Second, func() error {
		_, err := runCmd(addr, "apps", key)
		return err
	})
	if took := time.Since(banned); took < ban {
		t.Fatalf("let in again after %v, before the %v ban ended", took, ban)
	}
}

// TestIdleTimeout checks a session with no traffic is closed and its
// command canceled, while one streaming output or input for longer than
// the timeout runs to its end.
func TestIdleTimeout(t *testing.T) {
	key := newSigner(t)
	const idle = time.Second
	canceled := make(chan struct{}, 1)
	addr := testServer(t, sshd.Config{
		IdleTimeout: idle,
		Command: func(ctx context.Context, s sshd.Session) int {
			switch s.Args[0] {
			case "stream": // like `logs -t`: a line every 100ms
				for i := range 20 {
					fmt.Fprintf(s.Stdout, "line %d\n", i)
					select {
					case <-time.After(100 * time.Millisecond):
					case <-ctx.Done():
						return 1
					}
				}
				return 0
			case "upload": // like a push: reads until the client is done
				n, _ := io.Copy(io.Discard, s.Stdin)
				fmt.Fprint(s.Stdout, n)
				return 0
			default: // quiet until canceled
				select {
				case <-ctx.Done():
					canceled <- struct{}{}
				case <-time.After(time.Minute):
				}
				return 0
			}
		},
	}, key)

	out, err := runCmd(addr, "stream", key)
	if err != nil || !strings.Contains(out, "line 19\n") {
		t.Fatalf("stream: %v, output %q; want all 20 lines", err, out)
	}

	c, err := dial(addr, key)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := sess.StdinPipe()
	var got bytes.Buffer
	sess.Stdout = &got
	if err := sess.Start("upload"); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		in.Write(make([]byte, 1000))
		time.Sleep(100 * time.Millisecond) // the client's pace, not an assertion
	}
	in.Close()
	if err := sess.Wait(); err != nil || got.String() != "20000" {
		t.Fatalf("upload: %v, server read %q bytes; want 20000", err, got.String())
	}

	start := time.Now()
	_, err = runCmd(addr, "quiet", key)
	var exit *gossh.ExitError
	if err == nil || errors.As(err, &exit) {
		t.Fatalf("quiet session ended with %v, want the connection closed", err)
	}
	if took := time.Since(start); took < idle {
		t.Fatalf("quiet session closed after %v, before the %v idle timeout", took, idle)
	}
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the quiet session's command was not canceled")
	}
}

// TestUnclosedQuote checks a command line a shell could not split is
// refused, not run with its last word cut.
func TestUnclosedQuote(t *testing.T) {
	key := newSigner(t)
	ran := make(chan []string, 1)
	addr := testServer(t, sshd.Config{Command: func(_ context.Context, s sshd.Session) int {
		ran <- s.Args
		return 0
	}}, key)
	for _, line := range []string{"apps:destroy web --confirm 'web", `config:set web "A=1`, `apps \`} {
		out, err := runCmd(addr, line, key)
		var exit *gossh.ExitError
		if !errors.As(err, &exit) || exit.ExitStatus() != 2 || !strings.Contains(out, "unclosed quote") {
			t.Fatalf("%q: %v, output %q; want exit 2 saying why", line, err, out)
		}
	}
	select {
	case args := <-ran:
		t.Fatalf("ran %q", args)
	default:
	}
}
