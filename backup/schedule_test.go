package backup_test

import (
	"slices"
	"testing"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/backup"
)

func TestPrune(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.Local) }
	mk := func(id string, at time.Time, status string) nua.Backup {
		return nua.Backup{ID: id, App: "shop", Created: at, Status: status}
	}
	all := []nua.Backup{
		mk("a", day(2, 3), nua.BackupOK),       // Mon, week 45
		mk("b", day(9, 3), nua.BackupOK),       // Mon, week 46
		mk("c", day(16, 3), nua.BackupOK),      // week 47
		mk("d", day(17, 3), nua.BackupOK),      // week 47
		mk("e", day(18, 3), nua.BackupOK),      // week 47
		mk("f", day(18, 15), nua.BackupOK),     // same day as e, newer
		mk("g", day(18, 16), nua.BackupFailed), // newer than every good one: stays
		mk("h", day(17, 4), nua.BackupFailed),  // a newer good one exists: goes
	}
	for _, tt := range []struct {
		name          string
		daily, weekly int
		want          []string // dropped, newest first
	}{
		{"two days", 2, 0, []string{"e", "h", "c", "b", "a"}},
		{"two days and three weeks", 2, 3, []string{"e", "h", "c"}},
		{"the newest always", 0, 1, []string{"e", "h", "d", "c", "b", "a"}},
		{"keep all", 30, 30, []string{"e", "h"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, b := range backup.Prune(all, tt.daily, tt.weekly) {
				got = append(got, b.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Prune(%d, %d) drops %q, want %q", tt.daily, tt.weekly, got, tt.want)
			}
		})
	}
}
