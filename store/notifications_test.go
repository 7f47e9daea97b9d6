package store_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/nua-paas/nua"
)

// TestNotifications keeps channels across a reopen, secret included, and
// refuses a taken name.
func TestNotifications(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nua.db")
	db := mustOpen(t, path)
	hook := nua.Notification{Name: "ops", Kind: nua.NotifyWebhook, Target: "https://hooks.example.org/x", Events: []string{"deploy"}, Secret: "s3"}
	mail := nua.Notification{Name: "alice", Kind: nua.NotifyEmail, Target: "alice@example.org", Events: []string{"crash", "disk"}}
	for _, n := range []nua.Notification{hook, mail} {
		if err := db.AddNotification(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddNotification(mail); !errors.Is(err, nua.ErrExists) {
		t.Fatalf("AddNotification twice err=%v, want ErrExists", err)
	}
	db.Close()
	db = mustOpen(t, path)
	ns, err := db.Notifications()
	if err != nil || len(ns) != 2 || ns[0].Name != "alice" || ns[1].Secret != "s3" || ns[1].Target != hook.Target || !ns[0].Wants("disk") {
		t.Fatalf("Notifications()=%+v, %v; want alice then ops, as added", ns, err)
	}
	if err := db.RemoveNotification("ops"); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveNotification("ops"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("RemoveNotification twice err=%v, want ErrNotFound", err)
	}
}
