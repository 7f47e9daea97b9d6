package store_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/testutil"
	"github.com/nua-paas/nua/store"
	bolt "go.etcd.io/bbolt"
	gossh "golang.org/x/crypto/ssh"
)

// mustUser adds a user.
func mustUser(tb testing.TB, db *store.DB, name string, admin bool) {
	tb.Helper()
	if err := db.PutUser(nua.User{Name: name, Admin: admin}); err != nil {
		tb.Fatalf("PutUser(%s): %v", name, err)
	}
}

// newKeyLine returns a fresh ed25519 public key as an authorized_keys
// line, and its fingerprint.
func newKeyLine(tb testing.TB) (line, fp string) {
	tb.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	sp, err := gossh.NewPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sp))), gossh.FingerprintSHA256(sp)
}

func TestNewStoreStartsWithAnAdmin(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "nua.db"))
	users, err := db.Users()
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Name != "admin" || !users[0].Admin {
		t.Fatalf("Users()=%+v, want the one admin \"admin\"", users)
	}
}

func TestUsers(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "nua.db"))
	mustUser(t, db, "alice", false)
	if err := db.PutUser(nua.User{Name: "alice"}); !errors.Is(err, nua.ErrExists) {
		t.Fatalf("PutUser(alice) twice err=%v, want ErrExists", err)
	}
	if err := db.DeleteUser("admin"); !errors.Is(err, nua.ErrLastAdmin) {
		t.Fatalf("DeleteUser(last admin) err=%v, want ErrLastAdmin", err)
	}
	if err := db.DeleteUser("nobody"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("DeleteUser(nobody) err=%v, want ErrNotFound", err)
	}
	mustUser(t, db, "root2", true)
	if err := db.DeleteUser("admin"); err != nil {
		t.Fatalf("DeleteUser(admin) with another admin: %v", err)
	}
	if err := db.DeleteUser("root2"); !errors.Is(err, nua.ErrLastAdmin) {
		t.Fatalf("DeleteUser(root2, now the last admin) err=%v, want ErrLastAdmin", err)
	}

	// A user's keys and collaborations go with them; an owner stays.
	line, fp := newKeyLine(t)
	if err := db.PutKey(nua.Key{User: "alice", Name: "laptop", Fingerprint: fp, Line: line}); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"web", "api"} {
		if err := db.PutApp(nua.App{Name: app}); err != nil {
			t.Fatal(err)
		}
	}
	mustUser(t, db, "bob", false)
	if err := db.SetOwner("web", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddCollaborator("web", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetOwner("api", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser("alice"); !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), "apps:transfer") {
		t.Fatalf("DeleteUser(owner of api) err=%v, want ErrInvalid saying apps:transfer", err)
	}
	if err := db.SetOwner("api", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveCollaborator("api", "alice"); err != nil { // the old owner stayed a collaborator
		t.Fatal(err)
	}
	if err := db.DeleteUser("alice"); err != nil {
		t.Fatalf("DeleteUser(alice): %v", err)
	}
	if _, err := db.KeyByFingerprint(fp); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("the key of a removed user still authenticates: %v", err)
	}
	if acc, _ := db.Access("web"); acc.Member("alice") {
		t.Fatalf("a removed user still collaborates: %+v", acc)
	}
	// A new alice gets nothing of the old one.
	mustUser(t, db, "alice", false)
	if keys, _ := db.Keys("alice"); len(keys) != 0 {
		t.Fatalf("a new user inherited keys: %+v", keys)
	}
}

func TestKeys(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "nua.db"))
	mustUser(t, db, "alice", false)
	mustUser(t, db, "bob", false)
	line1, fp1 := newKeyLine(t)
	line2, fp2 := newKeyLine(t)
	if err := db.PutKey(nua.Key{User: "alice", Name: "laptop", Fingerprint: fp1, Line: line1}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutKey(nua.Key{User: "bob", Name: "laptop", Fingerprint: fp2, Line: line2}); err != nil {
		t.Fatalf("a second user's key of the same name: %v", err)
	}
	tests := []struct {
		name string
		key  nua.Key
		want error
	}{
		{"same user and name", nua.Key{User: "alice", Name: "laptop", Fingerprint: "SHA256:new"}, nua.ErrExists},
		{"same fingerprint", nua.Key{User: "alice", Name: "desk", Fingerprint: fp2}, nua.ErrExists},
		{"unknown user", nua.Key{User: "carol", Name: "desk", Fingerprint: "SHA256:other"}, nua.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.PutKey(tt.key); !errors.Is(err, tt.want) {
				t.Fatalf("PutKey err=%v, want %v", err, tt.want)
			}
		})
	}
	k, err := db.KeyByFingerprint(fp2)
	if err != nil || k.User != "bob" || k.Name != "laptop" {
		t.Fatalf("KeyByFingerprint=%+v, %v; want bob's laptop", k, err)
	}
	all, err := db.Keys("")
	if err != nil || len(all) != 2 || all[0].User != "alice" || all[1].User != "bob" {
		t.Fatalf("Keys(\"\")=%+v, %v; want alice's then bob's", all, err)
	}
	if err := db.DeleteKey("carol", "laptop"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("DeleteKey(carol) err=%v, want ErrNotFound", err)
	}
	if err := db.DeleteKey("alice", "laptop"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.KeyByFingerprint(fp1); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("fingerprint survived DeleteKey: %v", err)
	}
	if k, err := db.KeyByFingerprint(fp2); err != nil || k.User != "bob" {
		t.Fatalf("DeleteKey(alice) touched bob's key: %+v, %v", k, err)
	}
}

func TestAccess(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "nua.db"))
	mustUser(t, db, "alice", false)
	mustUser(t, db, "bob", false)
	if err := db.SetOwner("web", "alice"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("SetOwner(no app) err=%v, want ErrNotFound", err)
	}
	if err := db.PutApp(nua.App{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetOwner("web", "carol"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("SetOwner(no user) err=%v, want ErrNotFound", err)
	}
	if err := db.SetOwner("web", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddCollaborator("web", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddCollaborator("web", "bob"); !errors.Is(err, nua.ErrExists) {
		t.Fatalf("AddCollaborator twice err=%v, want ErrExists", err)
	}
	if err := db.RemoveCollaborator("web", "alice"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("RemoveCollaborator(owner) err=%v, want ErrNotFound", err)
	}
	acc, err := db.Access("web")
	if err != nil || acc.Owner != "alice" || !slices.Equal(acc.Collaborators, []string{"bob"}) {
		t.Fatalf("Access=%+v, %v; want owner alice, collaborator bob", acc, err)
	}
	if err := db.SetOwner("web", "bob"); err != nil {
		t.Fatal(err)
	}
	acc, _ = db.Access("web")
	if acc.Owner != "bob" || !slices.Equal(acc.Collaborators, []string{"alice"}) {
		t.Fatalf("after transfer Access=%+v, want owner bob, collaborator alice", acc)
	}
	if err := db.DeleteApp("web"); err != nil {
		t.Fatal(err)
	}
	if err := db.PutApp(nua.App{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if acc, _ := db.Access("web"); acc.Owner != "" || len(acc.Collaborators) != 0 {
		t.Fatalf("a new app of a destroyed one's name inherited its access: %+v", acc)
	}
}

func TestEventsAreBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nua.db")
	db := mustOpen(t, path)
	db.KeepEvents(5)
	for i := range 12 {
		if err := db.AddEvent("web", nua.Event{App: "web", Action: "config:set", Detail: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"x", "y", "z"} {
		if err := db.AddEvent("", nua.Event{Action: "users:add", Detail: d}); err != nil {
			t.Fatal(err)
		}
	}
	details := func(evs []nua.Event) string {
		var s string
		for _, e := range evs {
			s += e.Detail
		}
		return s
	}
	tests := []struct {
		name, app string
		n         int
		want      string
	}{
		{"app keeps the last 5", "web", 100, "hijkl"},
		{"last 2, oldest first", "web", 2, "kl"},
		{"server trail apart", "", 10, "xyz"},
		{"no trail", "api", 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := db.Events(tt.app, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if got := details(evs); got != tt.want {
				t.Fatalf("Events(%q, %d) details %q, want %q", tt.app, tt.n, got, tt.want)
			}
		})
	}
	// The bound holds across a reopen, and a destroyed app's trail stays.
	if err := db.PutApp(nua.App{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteApp("web"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = mustOpen(t, path)
	db.KeepEvents(5)
	if err := db.AddEvent("web", nua.Event{Detail: "m"}); err != nil {
		t.Fatal(err)
	}
	evs, _ := db.Events("web", 100)
	if got := details(evs); got != "ijklm" {
		t.Fatalf("after reopen details %q, want ijklm", got)
	}
	if apps, _ := db.EventApps(); !slices.Equal(apps, []string{"web"}) {
		t.Fatalf("EventApps()=%q, want [web]", apps)
	}
}

// TestMigrateSchema1 opens a store written in the layout before users:
// its keys, one named "admin" as install.sh named it, go to the user
// admin, who owns the apps, and keep authenticating.
func TestMigrateSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nua.db")
	line1, fp1 := newKeyLine(t)
	line2, fp2 := newKeyLine(t)
	testutil.WriteStoreV1(t, path, []string{"old-app"}, []testutil.OldKey{{Name: "admin", Line: line1}, {Name: "laptop", Line: line2}})

	for range 2 { // a second open finds schema 2 and changes nothing
		db := mustOpen(t, path)
		for fp, name := range map[string]string{fp1: "admin", fp2: "laptop"} {
			k, err := db.KeyByFingerprint(fp)
			if err != nil || k.User != "admin" || k.Name != name {
				t.Fatalf("KeyByFingerprint(%s)=%+v, %v; want admin's key %s", name, k, err, name)
			}
		}
		keys, err := db.Keys("admin")
		if err != nil || len(keys) != 2 {
			t.Fatalf("Keys(admin)=%+v, %v; want 2", keys, err)
		}
		u, err := db.User("admin")
		if err != nil || !u.Admin {
			t.Fatalf("User(admin)=%+v, %v; want an admin", u, err)
		}
		if acc, err := db.Access("old-app"); err != nil || acc.Owner != "admin" {
			t.Fatalf("Access(old-app)=%+v, %v; want owner admin", acc, err)
		}
		if a, err := db.App("old-app"); err != nil || a.UID != 1 {
			t.Fatalf("App(old-app)=%+v, %v; want it as it was", a, err)
		}
		if _, err := db.TrustedBuilders(); err != nil { // a bucket schema 1 lacked
			t.Fatalf("TrustedBuilders after migration: %v", err)
		}
		db.Close()
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte("meta")).Get([]byte("schema")); string(v) != "2" {
			t.Errorf("schema %q after migration, want 2", v)
		}
		return nil
	})
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nua.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error {
		m, _ := tx.CreateBucket([]byte("meta"))
		return m.Put([]byte("schema"), []byte("3"))
	})
	b.Close()
	if _, err := store.Open(path); err == nil || !strings.Contains(err.Error(), "newer nua") {
		t.Fatalf("Open(schema 3) err=%v, want one saying to run a newer nua", err)
	}
}
