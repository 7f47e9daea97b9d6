package nua_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua"
)

// TestRecordBackupFailsLoudly: a failed backup is kept, told to the
// channels that want backups and written in the app's logs; one that
// worked is kept and logged, never told as a failure.
func TestRecordBackupFailsLoudly(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	if _, err := r.p.AddNotification("ops", "webhook", "https://hooks.example.org/", []string{nua.EventBackup}, "admin"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ok := nua.Backup{ID: "20261202T010000Z", App: "shop", Created: now, Status: nua.BackupOK, Size: 42}
	bad := nua.Backup{ID: "20261202T020000Z", App: "shop", Created: now, Status: nua.BackupFailed, Error: "offsite: access denied",
		Copies: []nua.BackupCopy{{Target: "local", OK: true}, {Target: "offsite", Error: "access denied"}}}
	for _, b := range []nua.Backup{ok, bad} {
		if err := r.p.RecordBackup(b); err != nil {
			t.Fatal(err)
		}
	}
	last, found := r.p.LastBackup("shop")
	if !found || last.ID != bad.ID || last.Status != nua.BackupFailed {
		t.Fatalf("LastBackup = %+v, %t; want the failed one", last, found)
	}
	want := []string{"ops backup shop ok=false: shop: backup 20261202T020000Z FAILED: offsite: access denied"}
	if got := waitNotices(t, r); !slices.Equal(got, want) {
		t.Fatalf("notices = %q, want %q", got, want)
	}
	if !slices.ContainsFunc(r.runner.events, func(e string) bool { return e == "backup: backup 20261202T020000Z FAILED: offsite: access denied" }) {
		t.Fatalf("no event line for the failure: %q", r.runner.events)
	}
	if _, found := r.p.LastBackup("other"); found {
		t.Fatal("an app with no backups has a last one")
	}
}

// TestRestoreApp applies what a restore staged under the app's lock and
// restarts the app on a new release with the backed-up config; a failed
// step makes no release; an app being deployed is refused, untouched.
func TestRestoreApp(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "c0ffee1")
	applied := 0
	rs := nua.Restoring{
		Apply:       func(context.Context, nua.App) error { applied++; return nil },
		Config:      map[string]string{"MODE": "restored"},
		Description: "Restore of backup 20261202T010000Z",
	}
	if err := r.p.RestoreApp(t.Context(), "shop", rs, "tester", nil); err != nil {
		t.Fatal(err)
	}
	rels, _ := r.p.Releases("shop")
	cur := rels[len(rels)-1]
	if applied != 1 || cur.Config["MODE"] != "restored" || cur.Description != rs.Description || cur.Slug != 1 {
		t.Fatalf("after the restore: applied %d times, release %+v", applied, cur)
	}

	broken := rs
	broken.Apply = func(context.Context, nua.App) error { return errKnob }
	if err := r.p.RestoreApp(t.Context(), "shop", broken, "tester", nil); !errors.Is(err, errKnob) {
		t.Fatalf("RestoreApp with a failing step = %v", err)
	}
	if got := len(r.releases(t, "shop")); got != 2 {
		t.Fatalf("a failed restore made a release: %d releases", got)
	}

	// A deploy holds the app's lock while it launches.
	entered, release := make(chan struct{}), make(chan struct{})
	r.runner.launch = func(nua.App, nua.Release, string) error {
		select {
		case entered <- struct{}{}:
			<-release
		default:
		}
		return nil
	}
	done := make(chan error, 1)
	go func() { _, err := r.deploy(t, "shop", "c0ffee2", nil); done <- err }()
	<-entered
	err := r.p.RestoreApp(t.Context(), "shop", rs, "tester", nil)
	close(release)
	if !errors.Is(err, nua.ErrBusy) || !strings.Contains(err.Error(), "being deployed") {
		t.Fatalf("RestoreApp during a deploy = %v, want ErrBusy", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if applied != 1 {
		t.Fatalf("a refused restore applied its step")
	}
}

func TestValidateBackupNames(t *testing.T) {
	for _, id := range []string{"20261202T031500Z", "20261202T031500Z-2"} {
		if err := nua.ValidateBackupID(id); err != nil {
			t.Errorf("ValidateBackupID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "latest", "../20261202T031500Z", "20261202T031500Z/x", "20261202t031500z"} {
		if err := nua.ValidateBackupID(id); !errors.Is(err, nua.ErrInvalid) {
			t.Errorf("ValidateBackupID(%q) = %v, want ErrInvalid", id, err)
		}
	}
	for _, name := range []string{"", "local", "Offsite", "-x", "a_b", strings.Repeat("a", 32)} {
		if err := nua.ValidateTargetName(name); !errors.Is(err, nua.ErrInvalid) {
			t.Errorf("ValidateTargetName(%q) = %v, want ErrInvalid", name, err)
		}
	}
	if err := nua.ValidateTargetName("offsite-1"); err != nil {
		t.Error(err)
	}
}
