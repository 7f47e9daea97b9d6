package nua_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/store"
)

// tokenRig is a Platform on a real store, enough for tokens.
func tokenRig(t *testing.T) (*nua.Platform, *store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nua.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return nua.New(nua.Config{DataDir: t.TempDir(), Store: db}), db, path
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestTokenLifecycle makes, uses, lists and revokes a token, and checks
// the store holds the secret's hash, never the secret.
func TestTokenLifecycle(t *testing.T) {
	p, db, path := tokenRig(t)
	secret, tok, err := p.CreateToken("alice", "ci", 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^nua_[A-Za-z0-9_-]{43}$`).MatchString(secret) {
		t.Fatalf("secret %q, want nua_ and 43 base64url characters", secret)
	}
	if tok.Hash != sha(secret) || tok.User != "alice" || tok.Name != "ci" {
		t.Fatalf("token %+v: want alice's ci token with the secret's SHA-256", tok)
	}
	if d := time.Until(tok.Expires); d < 29*24*time.Hour || d > 30*24*time.Hour {
		t.Fatalf("expires in %v, want 30 days", d)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), strings.TrimPrefix(secret, "nua_")) {
		t.Fatal("the store holds the secret")
	}
	if !strings.Contains(string(raw), sha(secret)) {
		t.Fatal("the store lacks the secret's hash")
	}
	if stored, err := db.TokenByHash(sha(secret)); err != nil || stored.ID != tok.ID {
		t.Fatalf("TokenByHash: %+v, %v", stored, err)
	}

	if user, err := p.TokenUser(secret); err != nil || user != "alice" {
		t.Fatalf("TokenUser=%q, %v; want alice", user, err)
	}
	second, _, err := p.CreateToken("bob", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if second == secret {
		t.Fatal("two tokens share a secret")
	}
	list, err := p.Tokens()
	if err != nil || len(list) != 2 || list[0].ID != tok.ID || !list[1].Expires.IsZero() {
		t.Fatalf("Tokens=%+v, %v; want alice's then bob's, which never expires", list, err)
	}

	if _, err := p.RevokeToken(tok.ID, ""); err != nil {
		t.Fatal(err)
	}
	_, err = p.TokenUser(secret)
	if !errors.Is(err, nua.ErrToken) || !errors.Is(err, nua.ErrNotFound) || !strings.Contains(err.Error(), "revoked") || !strings.Contains(err.Error(), "tokens:create") {
		t.Fatalf("revoked token: %v, want it refused, saying what to do", err)
	}
	if _, err := p.RevokeToken(tok.ID, ""); err == nil || !strings.Contains(err.Error(), "revoked already") {
		t.Fatalf("second revoke: %v, want revoked already", err)
	}
	if user, err := p.TokenUser(second); err != nil || user != "bob" {
		t.Fatalf("bob's token after alice's revoke: %q, %v", user, err)
	}
}

func TestRevokeTokenBadInput(t *testing.T) {
	p, _, _ := tokenRig(t)
	tests := []struct {
		name, id string
		want     error
	}{
		{"unknown", "tok_0123456789ab", nua.ErrNotFound},
		{"malformed", "../x", nua.ErrInvalid},
		{"empty", "", nua.ErrInvalid},
		{"uppercase", "tok_0123456789AB", nua.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := p.RevokeToken(tt.id, ""); !errors.Is(err, tt.want) {
				t.Fatalf("RevokeToken(%q)=%v, want %v", tt.id, err, tt.want)
			}
		})
	}
}

func TestCreateTokenBadInput(t *testing.T) {
	p, db, _ := tokenRig(t)
	tests := []struct {
		name, user, token string
		ttl               time.Duration
	}{
		{"no user", "", "ci", 0},
		{"bad name", "alice", "a b", 0},
		{"negative ttl", "alice", "", -time.Hour},
		{"too long", "alice", "", nua.MaxTokenTTL + time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := p.CreateToken(tt.user, tt.token, tt.ttl); !errors.Is(err, nua.ErrInvalid) {
				t.Fatalf("CreateToken: %v, want ErrInvalid", err)
			}
		})
	}
	if ts, _ := db.Tokens(); len(ts) != 0 {
		t.Fatalf("bad input stored %d tokens", len(ts))
	}
}

// TestTokenExpiry checks a token past its expiry is refused.
func TestTokenExpiry(t *testing.T) {
	p, db, _ := tokenRig(t)
	secret := "nua_" + strings.Repeat("A", 43)
	err := db.PutToken(nua.Token{
		ID: "tok_00000000000a", User: "alice", Hash: sha(secret),
		Created: time.Now().Add(-48 * time.Hour), Expires: time.Now().Add(-time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.TokenUser(secret)
	if !errors.Is(err, nua.ErrToken) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v, want it refused as expired", err)
	}
	list, _ := p.Tokens()
	if len(list) != 1 || list[0].Status(time.Now()) != "expired" {
		t.Fatalf("Tokens=%+v, want one expired", list)
	}
}

func TestTokenUserRefusesUnknown(t *testing.T) {
	p, _, _ := tokenRig(t)
	for _, s := range []string{"", "nua_", "nua_" + strings.Repeat("B", 43), "xyz_" + strings.Repeat("B", 43), strings.Repeat("x", 1<<16)} {
		user, err := p.TokenUser(s)
		if user != "" || !errors.Is(err, nua.ErrNotFound) || strings.Count(err.Error(), "\n") != 0 {
			t.Fatalf("TokenUser(%.20q)=%q, %v; want one line, ErrNotFound", s, user, err)
		}
	}
}

func TestParseTokenTTL(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * day, true},
		{"90m", 90 * time.Minute, true},
		{"12h", 12 * time.Hour, true},
		{"2w", 14 * day, true},
		{"never", 0, true},
		{"3650d", 3650 * day, true},
		{"3651d", 0, false},
		{"0d", 0, false},
		{"01d", 0, false},
		{"-1d", 0, false},
		{"1.5d", 0, false},
		{"30", 0, false},
		{"d", 0, false},
		{"30D", 0, false},
		{" 30d", 0, false},
		{"30d ", 0, false},
		{"1y", 0, false},
		{"", 0, false},
		{"1000000d", 0, false},
		{"30d\n", 0, false},
		{"Never", 0, false},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			got, err := nua.ParseTokenTTL(tt.in)
			if tt.ok != (err == nil) || got != tt.want {
				t.Fatalf("ParseTokenTTL(%q)=%v, %v; want %v, ok=%t", tt.in, got, err, tt.want, tt.ok)
			}
			if err != nil && (!errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), "--expires")) {
				t.Fatalf("error %q does not name the flag", err)
			}
		})
	}
}

func FuzzParseTokenTTL(f *testing.F) {
	for _, s := range []string{"30d", "never", "90m", "2w", "3651d", "0h", "1e3d", "９d", "-5m"} {
		f.Add(s)
	}
	units := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := nua.ParseTokenTTL(s)
		if err != nil {
			if d != 0 || !errors.Is(err, nua.ErrInvalid) {
				t.Fatalf("ParseTokenTTL(%q)=%v, %v: an error returns 0 and ErrInvalid", s, d, err)
			}
			return
		}
		if s == "never" {
			if d != 0 {
				t.Fatalf("never=%v, want 0", d)
			}
			return
		}
		n, perr := strconv.Atoi(s[:len(s)-1])
		unit, known := units[s[len(s)-1]]
		if perr != nil || !known || n < 1 || s[0] == '0' || s[0] == '+' || s[0] == '-' {
			t.Fatalf("accepted %q", s)
		}
		if want := time.Duration(n) * unit; d != want || d > nua.MaxTokenTTL {
			t.Fatalf("ParseTokenTTL(%q)=%v, want %v within ten years", s, d, want)
		}
	})
}
