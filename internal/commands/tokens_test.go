package commands_test

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/store"
)

// run runs args on the SSH door as user and returns stdout, stderr and
// the exit status.
func run(t *testing.T, p *nua.Platform, user string, args ...string) (string, string, int) {
	t.Helper()
	var out, errw bytes.Buffer
	o := commands.Options{Door: commands.SSH, Platform: p, Who: nua.Identity{User: user, Admin: user == "admin", Door: nua.DoorSSH}, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errw}
	code := commands.Run(context.Background(), o, args)
	return out.String(), errw.String(), code
}

func TestTokenCommands(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "nua.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := nua.New(nua.Config{DataDir: t.TempDir(), Store: db})

	out, errw, code := run(t, p, "alice", "tokens:create", "--expires", "30d", "--name", "ci")
	secret := strings.TrimSuffix(out, "\n")
	if code != 0 || !regexp.MustCompile(`^nua_[A-Za-z0-9_-]{43}$`).MatchString(secret) {
		t.Fatalf("tokens:create: exit %d, stdout %q, want the secret alone\n%s", code, out, errw)
	}
	if !strings.Contains(errw, "only its hash") {
		t.Fatalf("tokens:create does not say the secret is shown once:\n%s", errw)
	}
	if user, err := p.TokenUser(secret); err != nil || user != "alice" {
		t.Fatalf("the token acts as %q, %v; want alice, its maker", user, err)
	}

	out, _, code = run(t, p, "alice", "tokens")
	id := regexp.MustCompile(`tok_[0-9a-f]{12}`).FindString(out)
	if code != 0 || id == "" || !strings.Contains(out, "ci") || !strings.Contains(out, "active") {
		t.Fatalf("tokens: exit %d\n%s", code, out)
	}
	if strings.Contains(out, strings.TrimPrefix(secret, "nua_")[:10]) {
		t.Fatal("tokens shows the secret")
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"bad expiry", []string{"tokens:create", "--expires", "soon"}, "like 90m, 12h, 30d or 2w", commands.ExitUsage},
		{"expiry too far", []string{"tokens:create", "--expires", "9999d"}, "ten years", commands.ExitUsage},
		{"extra argument", []string{"tokens:create", "x"}, "usage", commands.ExitUsage},
		{"revoke unknown", []string{"tokens:revoke", "tok_000000000000"}, "not found", commands.ExitError},
		{"revoke malformed", []string{"tokens:revoke", "/etc/passwd"}, "tok_ and 12 hex digits", commands.ExitUsage},
		{"revoke without ID", []string{"tokens:revoke"}, "usage", commands.ExitUsage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errw, code := run(t, p, "alice", tt.args...)
			if code != tt.code || !strings.Contains(errw, tt.want) || strings.Count(errw, "\n") != 1 {
				t.Fatalf("exit %d, want %d; stderr %q, want one line with %q", code, tt.code, errw, tt.want)
			}
		})
	}
	if ts, _ := p.Tokens(); len(ts) != 1 {
		t.Fatalf("%d tokens after bad input, want 1", len(ts))
	}

	// Another member neither ends alice's token nor learns it exists.
	if out, errw, code := run(t, p, "bob", "tokens:revoke", id); code != commands.ExitError || !strings.Contains(errw, "not found") {
		t.Fatalf("bob revoking alice's token: exit %d\n%s%s", code, out, errw)
	}
	if user, err := p.TokenUser(secret); err != nil || user != "alice" {
		t.Fatalf("alice's token after bob's try: %q, %v", user, err)
	}
	if out, _, _ := run(t, p, "bob", "tokens"); strings.Contains(out, id) {
		t.Fatalf("bob's tokens list alice's:\n%s", out)
	}

	out, _, code = run(t, p, "alice", "tokens:revoke", id)
	if code != 0 || !strings.Contains(out, "Revoked token "+id) {
		t.Fatalf("tokens:revoke: exit %d\n%s", code, out)
	}
	if _, err := p.TokenUser(secret); err == nil {
		t.Fatal("a revoked token still works")
	}
	if out, _, _ := run(t, p, "alice", "tokens"); !strings.Contains(out, "revoked") {
		t.Fatalf("tokens after revoke:\n%s", out)
	}
}
