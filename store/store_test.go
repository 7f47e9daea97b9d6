package store_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/store"
	bolt "go.etcd.io/bbolt"
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

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nua.db")
	mustOpen(t, path)
	if _, err := store.Open(path); err == nil {
		t.Fatal("second Open of a held store succeeded")
	}
}

func TestTrustedBuilders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nua.db")
	db := mustOpen(t, path)
	for _, img := range []string{"paketo/builder:b", "heroku/builder:24"} {
		if err := db.TrustBuilder(nua.TrustedBuilder{Image: img, By: "admin"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.TrustBuilder(nua.TrustedBuilder{Image: "heroku/builder:24"}); !errors.Is(err, nua.ErrExists) {
		t.Fatalf("TrustBuilder twice err=%v, want ErrExists", err)
	}
	db.Close()
	db = mustOpen(t, path)
	bs, err := db.TrustedBuilders()
	if err != nil || len(bs) != 2 || bs[0].Image != "heroku/builder:24" || bs[1].Image != "paketo/builder:b" || bs[1].By != "admin" {
		t.Fatalf("TrustedBuilders()=%+v, %v; want heroku then paketo, across a reopen", bs, err)
	}
	if err := db.UntrustBuilder("paketo/builder:b"); err != nil {
		t.Fatal(err)
	}
	if err := db.UntrustBuilder("paketo/builder:b"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("UntrustBuilder twice err=%v, want ErrNotFound", err)
	}
	if bs, _ := db.TrustedBuilders(); len(bs) != 1 {
		t.Fatalf("TrustedBuilders() after untrust = %+v, want one", bs)
	}
}

// TestOpenAddsBuckets opens a store written before the builders bucket
// existed: it opens at the same schema version and gains the bucket.
func TestOpenAddsBuckets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nua.db")
	old, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = old.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "apps", "releases", "keys", "fingerprints"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1"))
	})
	old.Close()
	if err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, path)
	if err := db.TrustBuilder(nua.TrustedBuilder{Image: "heroku/builder:24"}); err != nil {
		t.Fatalf("TrustBuilder on an older store: %v", err)
	}
}
