package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/store"
)

func TestAddons(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nua.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a := nua.Addon{Name: "shop-db", Kind: "postgres", App: "shop", Created: time.Now().UTC().Truncate(time.Second),
		URL: "postgres://u:p@127.0.0.1:5432/shop_db", Attachments: []nua.Attachment{{App: "shop", As: "DATABASE"}}}
	for _, x := range []nua.Addon{a, {Name: "a-cache", Kind: "redis", App: "shop"}} {
		if err := db.PutAddon(x); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if db, err = store.Open(path); err != nil { // kept across a reopen
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Addon("shop-db")
	if err != nil || got.URL != a.URL || len(got.Attachments) != 1 || got.Attachments[0].Var() != "DATABASE_URL" {
		t.Fatalf("Addon = %+v, %v", got, err)
	}
	list, err := db.Addons()
	if err != nil || len(list) != 2 || list[0].Name != "a-cache" {
		t.Fatalf("Addons = %+v, %v; want a-cache then shop-db", list, err)
	}
	if err := db.DeleteAddon("shop-db"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAddon("shop-db"); err != nil {
		t.Fatalf("deleting one gone: %v", err)
	}
	if _, err := db.Addon("shop-db"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("Addon after delete: %v, want ErrNotFound", err)
	}
}
