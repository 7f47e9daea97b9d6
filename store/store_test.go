package store_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/store"
)

func mustOpen(tb testing.TB, path string) *store.DB {
	tb.Helper()
	db, err := store.Open(path)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestAppsPersistAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nua.db")
	db := mustOpen(t, path)
	for _, name := range []string{"web", "api"} {
		if err := db.PutApp(nua.App{Name: name, Config: map[string]string{"K": name}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutRelease(nua.Release{App: "web", Version: 2, Description: "two"}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutRelease(nua.Release{App: "web", Version: 10, Description: "ten"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = mustOpen(t, path)
	apps, err := db.Apps()
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 || apps[0].Name != "api" || apps[1].Config["K"] != "web" {
		t.Fatalf("Apps()=%+v, want api and web with config", apps)
	}
	rels, err := db.Releases("web")
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 2 || rels[0].Version != 2 || rels[1].Version != 10 {
		t.Fatalf("Releases()=%+v, want v2 then v10", rels)
	}
	if err := db.DeleteApp("web"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.App("web"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("App(deleted) err=%v, want ErrNotFound", err)
	}
	if rels, _ := db.Releases("web"); len(rels) != 0 {
		t.Fatalf("releases survived DeleteApp: %+v", rels)
	}
	if err := db.DeleteApp("web"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("DeleteApp twice err=%v, want ErrNotFound", err)
	}
}

func TestKeys(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "nua.db"))
	if err := db.PutKey(nua.Key{Name: "alice", Fingerprint: "SHA256:a"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  nua.Key
	}{
		{"same name", nua.Key{Name: "alice", Fingerprint: "SHA256:b"}},
		{"same fingerprint", nua.Key{Name: "bob", Fingerprint: "SHA256:a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.PutKey(tt.key); !errors.Is(err, nua.ErrExists) {
				t.Fatalf("PutKey err=%v, want ErrExists", err)
			}
		})
	}
	k, err := db.KeyByFingerprint("SHA256:a")
	if err != nil || k.Name != "alice" {
		t.Fatalf("KeyByFingerprint=%+v, %v; want alice", k, err)
	}
	if err := db.DeleteKey("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.KeyByFingerprint("SHA256:a"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("fingerprint survived DeleteKey: %v", err)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nua.db")
	mustOpen(t, path)
	if _, err := store.Open(path); err == nil {
		t.Fatal("second Open of a held store succeeded")
	}
}
