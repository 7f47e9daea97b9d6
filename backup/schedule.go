package backup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nua-paas/nua"
)

// SetSchedule makes the daemon back the app up on sch.Cron, pruning and
// drilling as sch says.
func (s *Service) SetSchedule(sch nua.BackupSchedule) error {
	if _, err := s.p.App(sch.App); err != nil {
		return err
	}
	if err := sch.Validate(); err != nil {
		return err
	}
	bs, err := s.p.BackupStore()
	if err != nil {
		return err
	}
	sch.Set = time.Now().UTC()
	return bs.PutBackupSchedule(sch)
}

// Schedule returns the app's schedule; ok is false when it has none.
func (s *Service) Schedule(app string) (sch nua.BackupSchedule, ok bool, err error) {
	bs, err := s.p.BackupStore()
	if err != nil {
		return sch, false, err
	}
	all, err := bs.BackupSchedules()
	if err != nil {
		return sch, false, err
	}
	i := slices.IndexFunc(all, func(x nua.BackupSchedule) bool { return x.App == app })
	if i < 0 {
		return sch, false, nil
	}
	return all[i], true, nil
}

// Unschedule stops the app's scheduled backups; its backups stay.
func (s *Service) Unschedule(app string) error {
	if err := nua.ValidateAppName(app); err != nil {
		return err
	}
	bs, err := s.p.BackupStore()
	if err != nil {
		return err
	}
	return bs.DeleteBackupSchedule(app)
}

// planned is what the scheduler keeps of one app's schedule.
type planned struct {
	spec string
	next time.Time
}

// Run captures the apps' scheduled backups until ctx ends, checking at
// each tick; then it prunes what the schedule keeps no more and, when a
// drill is due, verifies the new backup. A failure is recorded and told
// like any other; the loop carries on. It waits for the runs it started.
func (s *Service) Run(ctx context.Context, tick <-chan time.Time) {
	plans := map[string]*planned{}
	running := map[string]bool{}
	done := make(chan string)
	defer func() {
		for len(running) > 0 {
			delete(running, <-done)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case app := <-done:
			delete(running, app)
		case now := <-tick:
			for _, sch := range s.due(plans, now) {
				if running[sch.App] {
					continue
				}
				running[sch.App] = true
				go func() {
					s.scheduled(ctx, sch)
					done <- sch.App
				}()
			}
		}
	}
}

// due returns the schedules whose time has come at now.
func (s *Service) due(plans map[string]*planned, now time.Time) []nua.BackupSchedule {
	bs, err := s.p.BackupStore()
	if err != nil {
		return nil
	}
	all, err := bs.BackupSchedules()
	if err != nil {
		s.log.Error("backup schedules", "err", err)
		return nil
	}
	var out []nua.BackupSchedule
	seen := map[string]bool{}
	for _, sch := range all {
		seen[sch.App] = true
		sched, err := nua.ParseSchedule(sch.Cron)
		if err != nil {
			continue // checked when set
		}
		pl := plans[sch.App]
		if pl == nil || pl.spec != sch.Cron {
			pl = &planned{spec: sch.Cron, next: sched.Next(now)}
			plans[sch.App] = pl
		}
		if !pl.next.After(now) {
			pl.next = sched.Next(now)
			out = append(out, sch)
		}
	}
	for app := range plans {
		if !seen[app] {
			delete(plans, app)
		}
	}
	return out
}

// scheduled runs one scheduled backup, its pruning and its drill.
func (s *Service) scheduled(ctx context.Context, sch nua.BackupSchedule) {
	if _, err := s.p.App(sch.App); errors.Is(err, nua.ErrNotFound) {
		s.Unschedule(sch.App) // the app is gone; its backups stay
		return
	}
	b, err := s.Capture(ctx, sch.App, "schedule")
	if err != nil {
		s.log.Warn("scheduled backup", "app", sch.App, "err", err)
		return
	}
	if err := s.prune(ctx, sch); err != nil {
		s.log.Warn("prune backups", "app", sch.App, "err", err)
	}
	every, ok := nua.VerifyEvery[sch.Verify]
	if !ok {
		return
	}
	all, err := s.Backups(sch.App)
	if err != nil {
		return
	}
	last := slices.MaxFunc(all, func(a, b nua.Backup) int { return a.Verified.Compare(b.Verified) })
	if !last.Verified.IsZero() && time.Since(last.Verified) < every {
		return
	}
	if err := s.Verify(ctx, sch.App, b.ID, "schedule", nil); err != nil {
		s.log.Warn("restore drill", "app", sch.App, "id", b.ID, "err", err)
	}
}

// prune deletes the backups the schedule keeps no more.
func (s *Service) prune(ctx context.Context, sch nua.BackupSchedule) error {
	if sch.KeepDaily == 0 && sch.KeepWeekly == 0 {
		return nil
	}
	all, err := s.Backups(sch.App)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range Prune(all, sch.KeepDaily, sch.KeepWeekly) {
		if err := s.Delete(ctx, sch.App, b.ID); err != nil {
			errs = append(errs, err)
		} else {
			s.p.BackupEvent(sch.App, fmt.Sprintf("backup %s pruned", b.ID))
		}
	}
	return errors.Join(errs...)
}

// Prune returns the backups a keep-daily/keep-weekly policy drops: of the
// good ones, the newest of each of the last keepDaily days and of the
// last keepWeekly ISO weeks that have one stay, and always the newest;
// a failed one goes once a newer good one exists.
func Prune(all []nua.Backup, keepDaily, keepWeekly int) []nua.Backup {
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b nua.Backup) int { return cmp.Or(b.Created.Compare(a.Created), cmp.Compare(b.ID, a.ID)) })
	keep := map[string]bool{}
	days, weeks := map[string]bool{}, map[string]bool{}
	newestOK := time.Time{}
	for _, b := range sorted {
		if b.Status != nua.BackupOK {
			continue
		}
		if newestOK.IsZero() {
			newestOK = b.Created
			keep[b.ID] = true
		}
		day := b.Created.Local().Format("2006-01-02")
		if !days[day] && len(days) < keepDaily {
			days[day] = true
			keep[b.ID] = true
		}
		y, w := b.Created.Local().ISOWeek()
		week := fmt.Sprintf("%d-%d", y, w)
		if !weeks[week] && len(weeks) < keepWeekly {
			weeks[week] = true
			keep[b.ID] = true
		}
	}
	var drop []nua.Backup
	for _, b := range sorted {
		switch {
		case keep[b.ID]:
		case b.Status != nua.BackupOK && (newestOK.IsZero() || b.Created.After(newestOK)):
		default:
			drop = append(drop, b)
		}
	}
	return drop
}
