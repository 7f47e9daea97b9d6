package sshd_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/sshd"
	gossh "golang.org/x/crypto/ssh"
)

func TestHostKeyPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ssh_host_ed25519_key")
	first, err := sshd.LoadHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	second, err := sshd.LoadHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.PublicKey().Marshal(), second.PublicKey().Marshal()) {
		t.Fatal("host key changed between loads")
	}
	if got := first.PublicKey().Type(); got != gossh.KeyAlgoED25519 {
		t.Fatalf("host key type %s, want ed25519", got)
	}
}

// TestServer drives the server with x/crypto/ssh as the client: the
// authorised key runs commands, git requests reach the git handler, a
// shell request and an unknown key get nothing.
func TestServer(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	var gotArgs []string
	var gotRepo string
	s := sshd.New(sshd.Config{
		Addr:    "127.0.0.1:0",
		HostKey: filepath.Join(t.TempDir(), "key"),
		Authorize: func(k gossh.PublicKey) (string, bool) {
			return "tester", bytes.Equal(k.Marshal(), signer.PublicKey().Marshal())
		},
		Command: func(_ context.Context, s sshd.Session) int {
			gotArgs = s.Args
			s.Stdout.Write([]byte("user=" + s.User))
			return 3
		},
		Git: func(_ context.Context, s sshd.Session, service, repo string) int {
			gotRepo = service + " " + repo
			return 0
		},
	})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close(context.Background()) })

	run := func(key gossh.Signer, cmd string) (string, error) {
		conn, err := gossh.Dial("tcp", s.Addr().String(), &gossh.ClientConfig{
			User: "nua", Auth: []gossh.AuthMethod{gossh.PublicKeys(key)},
			HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		})
		if err != nil {
			return "", err
		}
		defer conn.Close()
		sess, err := conn.NewSession()
		if err != nil {
			return "", err
		}
		defer sess.Close()
		out, err := sess.Output(cmd)
		return string(out), err
	}

	out, err := run(signer, `config:set web "GREETING=hello world"`)
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 3 || out != "user=tester" {
		t.Fatalf("command: out=%q err=%v, want exit 3 and the key's name", out, err)
	}
	if want := []string{"config:set", "web", "GREETING=hello world"}; strings.Join(gotArgs, "|") != strings.Join(want, "|") {
		t.Fatalf("args %q, want %q", gotArgs, want)
	}
	if _, err := run(signer, "git-receive-pack '/web.git'"); err != nil {
		t.Fatalf("git: %v", err)
	}
	if gotRepo != "git-receive-pack /web.git" {
		t.Fatalf("git handler got %q", gotRepo)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := gossh.NewSignerFromKey(other)
	if _, err := run(otherSigner, "apps"); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("unknown key: err=%v, want refused", err)
	}
}

// A Serve that starts only after Close (a daemon stopping at once) returns
// nil instead of accepting forever.
func TestServeAfterClose(t *testing.T) {
	s := sshd.New(sshd.Config{
		Addr: "127.0.0.1:0", HostKey: filepath.Join(t.TempDir(), "key"),
		Authorize: func(gossh.PublicKey) (string, bool) { return "", false },
		Command:   func(context.Context, sshd.Session) int { return 0 },
		Git:       func(context.Context, sshd.Session, string, string) int { return 0 },
	})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Close = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve after Close still accepting after 10s")
	}
}
