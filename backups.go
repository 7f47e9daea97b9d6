package nua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/nua-paas/nua/internal/buildout"
)

// Backup is one captured archive of an app: its data dir, addon dumps,
// config and release, kept in one or more targets.
type Backup struct {
	ID      string    `json:"id"` // 20261202T031500Z
	App     string    `json:"app"`
	Created time.Time `json:"created"`
	By      string    `json:"by,omitempty"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256,omitempty"`
	// Copies are where the archive went, one per target, with how it
	// fared.
	Copies []BackupCopy `json:"copies,omitempty"`
	// Status is BackupOK only when the archive was made whole and every
	// target kept it.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Verified is when a restore drill last ran; VerifyError its failure.
	Verified    time.Time `json:"verified,omitzero"`
	VerifyError string    `json:"verify_error,omitempty"`
}

// BackupCopy is a backup's archive in one target.
type BackupCopy struct {
	Target string `json:"target"` // "local" or a BackupTarget's name
	Key    string `json:"key,omitempty"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
}

// Backup statuses.
const (
	BackupOK     = "ok"
	BackupFailed = "failed"
)

// OKCopies returns the targets that hold the backup whole.
func (b Backup) OKCopies() []BackupCopy {
	var out []BackupCopy
	for _, c := range b.Copies {
		if c.OK {
			out = append(out, c)
		}
	}
	return out
}

// BackupTarget is an S3-compatible bucket backups go to besides the local
// directory. Its keys never leave the server's database.
type BackupTarget struct {
	Name      string    `json:"name"`
	URL       string    `json:"url"` // s3://BUCKET[/PREFIX]
	Endpoint  string    `json:"endpoint"`
	AccessKey string    `json:"access_key"`
	SecretKey string    `json:"secret_key"`
	Region    string    `json:"region,omitempty"`
	Added     time.Time `json:"added"`
	By        string    `json:"by,omitempty"`
}

// LocalTarget is the name of the local backup directory among targets.
const LocalTarget = "local"

var targetNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// ValidateTargetName checks the name of a backup target.
func ValidateTargetName(name string) error {
	if !targetNameRE.MatchString(name) || name == LocalTarget {
		return fmt.Errorf("%w: target name %q: use up to 31 lowercase letters, digits and dashes, starting with a letter (not %q)", ErrInvalid, clip(name), LocalTarget)
	}
	return nil
}

var backupIDRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z(-[0-9]{1,3})?$`)

// ValidateBackupID checks a backup's ID, as 20261202T031500Z.
func ValidateBackupID(id string) error {
	if !backupIDRE.MatchString(id) {
		return fmt.Errorf("%w: backup id %q: give one `backups APP` lists, such as 20261202T031500Z", ErrInvalid, clip(id))
	}
	return nil
}

// BackupStore keeps backups and backup targets. A Store implements it
// when it can.
type BackupStore interface {
	// Backups returns the app's backups, oldest first.
	Backups(app string) ([]Backup, error)
	// PutBackup creates or replaces a backup.
	PutBackup(Backup) error
	// DeleteBackup removes a backup's record; one gone is no error.
	DeleteBackup(app, id string) error
	// BackupTargets returns every target, sorted by name.
	BackupTargets() ([]BackupTarget, error)
	// AddBackupTarget adds a target, or an error wrapping ErrExists.
	AddBackupTarget(BackupTarget) error
	// RemoveBackupTarget removes a target, or an error wrapping ErrNotFound.
	RemoveBackupTarget(name string) error
	// BackupSchedules returns every app's schedule, sorted by app.
	BackupSchedules() ([]BackupSchedule, error)
	// PutBackupSchedule creates or replaces the app's schedule.
	PutBackupSchedule(BackupSchedule) error
	// DeleteBackupSchedule removes the app's schedule; one gone is no error.
	DeleteBackupSchedule(app string) error
}

// AddonDumper writes an addon's data as a dump and loads one back. An
// AddonService implements it for the kinds it can back up.
type AddonDumper interface {
	// Dump writes the addon's data to w.
	Dump(ctx context.Context, a Addon, w io.Writer) error
	// Restore replaces the addon's data with the dump r gives.
	Restore(ctx context.Context, a Addon, r io.Reader) error
}

// errNoBackups refuses backups on a store that keeps none.
var errNoBackups = fmt.Errorf("%w: this nua keeps no backups (nua dev and the local door have none)", ErrInvalid)

// BackupStore returns the store of backups.
func (p *Platform) BackupStore() (BackupStore, error) {
	bs, ok := p.cfg.Store.(BackupStore)
	if !ok {
		return nil, errNoBackups
	}
	return bs, nil
}

// AddonDumper returns what dumps and restores addons, or an error when
// this server has none.
func (p *Platform) AddonDumper() (AddonDumper, error) {
	d, ok := p.cfg.Addons.(AddonDumper)
	if !ok {
		return nil, fmt.Errorf("%w: this nua runs no addon services that can be dumped", ErrInvalid)
	}
	return d, nil
}

// AppDataDir is the app's persistent data dir, NUA_DATA_DIR of its
// processes.
func (p *Platform) AppDataDir(app string) string { return filepath.Join(p.appDir(app), "data") }

// RepoDir is the path of the app's git repository.
func (p *Platform) RepoDir(app string) string { return p.cfg.Repos.Repo(app) }

// CurrentRelease returns the release app runs, or an error wrapping
// ErrNotFound before its first deploy.
func (p *Platform) CurrentRelease(app App) (Release, error) { return p.currentRelease(app) }

// OwnAddons returns the addons the app made.
func (p *Platform) OwnAddons(app string) ([]Addon, error) {
	own, _, err := p.appAddons(app)
	return own, err
}

// Notify sends notice to every channel that wants it, in the background.
func (p *Platform) Notify(notice Notice) { p.notify(notice) }

// RecordBackup keeps b; a failed one is also told to the notification
// channels and written in the app's logs.
func (p *Platform) RecordBackup(b Backup) error {
	bs, err := p.BackupStore()
	if err != nil {
		return err
	}
	if err := bs.PutBackup(b); err != nil {
		return err
	}
	if b.Status == BackupFailed {
		msg := fmt.Sprintf("backup %s FAILED: %s", b.ID, b.Error)
		p.cfg.Monitor.Event(b.App, "backup", msg)
		p.notify(Notice{Event: EventBackup, App: b.App, Text: b.App + ": " + msg})
		p.log.Warn("backup failed", "app", b.App, "id", b.ID, "err", b.Error)
	} else {
		p.cfg.Monitor.Event(b.App, "backup", fmt.Sprintf("backup %s made, %d bytes", b.ID, b.Size))
	}
	return nil
}

// LastBackup returns the app's newest backup; ok is false when it has none.
func (p *Platform) LastBackup(app string) (b Backup, ok bool) {
	bs, err := p.BackupStore()
	if err != nil {
		return Backup{}, false
	}
	all, err := bs.Backups(app)
	if err != nil || len(all) == 0 {
		return Backup{}, false
	}
	return all[len(all)-1], true
}

// ErrBusy marks an app that is being changed (a deploy, a config change)
// while a restore would start.
var ErrBusy = errors.New("busy")

// Restoring is what a restore brings back, staged and checked whole
// before the app is touched.
type Restoring struct {
	// Apply swaps the app's data dir and loads its addons' dumps, under
	// the app's lock.
	Apply func(ctx context.Context, app App) error
	// Config is the app's config as it was backed up; the vars of the
	// addons attached now are kept as they are.
	Config map[string]string
	// Description names the new release.
	Description string
}

// RestoreApp applies r to the app under its lock and restarts it on a new
// release with r's config, with no downtime. An app being deployed or
// changed is refused rather than waited for.
func (p *Platform) RestoreApp(ctx context.Context, name string, r Restoring, by string, out io.Writer) error {
	if err := ValidateAppName(name); err != nil {
		return err
	}
	l := p.appMutex(name)
	if !l.TryLock() {
		return fmt.Errorf("%w: %s is being deployed or changed: restore it once that is done", ErrBusy, name)
	}
	defer l.Unlock()
	app, err := p.cfg.Store.App(name)
	if err != nil {
		return err
	}
	o := buildout.NewOutput(out)
	if err := r.Apply(ctx, app); err != nil {
		return err
	}
	config, err := p.withAttachments(name, withVars(r.Config, nil, nil))
	if err != nil {
		return err
	}
	if app.Release == 0 {
		app.Config = config
		o.Step("Config restored (applies from the first deploy)")
		return p.cfg.Store.PutApp(app)
	}
	o.Step("Restarting %s on the restored data and config", name)
	return p.rerelease(ctx, app, func(cur Release) (Release, error) {
		cur.Config, cur.Description = config, r.Description
		return cur, nil
	}, by, o)
}

// DeployCommit deploys commit, already in the app's repository, as if it
// had been pushed to branch: a restore into a new app rebuilds the
// backed-up commit so.
func (p *Platform) DeployCommit(ctx context.Context, name, branch, commit, by string, out io.Writer) error {
	err := p.Deploy(ctx, DeployRequest{
		App: name, Commit: commit, By: by,
		Source: func(dir string) error { return p.cfg.Repos.Export(ctx, name, commit, Quarantine{}, dir) },
	}, out)
	if err != nil {
		return err
	}
	return p.setBranch(name, branch)
}

// BackupSchedule makes the daemon back an app up on its own.
type BackupSchedule struct {
	App string `json:"app"`
	// Cron is five cron fields or a descriptor (@daily, @every 6h), in
	// the server's time zone.
	Cron string `json:"cron"`
	// KeepDaily and KeepWeekly say how many days and weeks keep their
	// newest backup when older ones are pruned; 0 and 0 prune nothing.
	KeepDaily  int `json:"keep_daily,omitempty"`
	KeepWeekly int `json:"keep_weekly,omitempty"`
	// Verify is how often a restore drill proves the newest backup:
	// "", "daily" or "weekly".
	Verify string    `json:"verify,omitempty"`
	Set    time.Time `json:"set"`
	By     string    `json:"by,omitempty"`
}

// Restore drill intervals of a BackupSchedule.
var VerifyEvery = map[string]time.Duration{"daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour}

// Validate checks the schedule's fields.
func (s BackupSchedule) Validate() error {
	if err := ValidateAppName(s.App); err != nil {
		return err
	}
	if _, err := ParseSchedule(s.Cron); err != nil {
		return err
	}
	if s.KeepDaily < 0 || s.KeepWeekly < 0 || s.KeepDaily > 3660 || s.KeepWeekly > 520 {
		return fmt.Errorf("%w: --keep-daily and --keep-weekly count days and weeks: 0 to 3660 and 0 to 520", ErrInvalid)
	}
	if _, ok := VerifyEvery[s.Verify]; !ok && s.Verify != "" {
		return fmt.Errorf("%w: --verify %q: use daily or weekly", ErrInvalid, clip(s.Verify))
	}
	return nil
}

// ParseSchedule reads a cron schedule as app.json's cron jobs have them.
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: schedule %q: %v (want five fields, e.g. \"0 3 * * *\", or @daily, @every 6h)", ErrInvalid, clip(spec), err)
	}
	return s, nil
}

// RecordDrill keeps the result of a restore drill of b (b.Verified and
// b.VerifyError); a failed drill is told and logged like a failed backup.
func (p *Platform) RecordDrill(b Backup) error {
	bs, err := p.BackupStore()
	if err != nil {
		return err
	}
	if err := bs.PutBackup(b); err != nil {
		return err
	}
	if b.VerifyError != "" {
		msg := fmt.Sprintf("restore drill of backup %s FAILED: %s", b.ID, b.VerifyError)
		p.cfg.Monitor.Event(b.App, "backup", msg)
		p.notify(Notice{Event: EventBackup, App: b.App, Text: b.App + ": " + msg})
		p.log.Warn("restore drill failed", "app", b.App, "id", b.ID, "err", b.VerifyError)
		return nil
	}
	p.cfg.Monitor.Event(b.App, "backup", fmt.Sprintf("restore drill of backup %s passed", b.ID))
	return nil
}

// BackupEvent writes a line about the app's backups in its logs.
func (p *Platform) BackupEvent(app, msg string) { p.cfg.Monitor.Event(app, "backup", msg) }

// StateSnapshotter writes a consistent copy of the platform's state. A
// Store implements it when it can.
type StateSnapshotter interface {
	Snapshot(w io.Writer) error
}

// SnapshotState writes a consistent copy of the store, for a backup of
// the whole server.
func (p *Platform) SnapshotState(w io.Writer) error {
	s, ok := p.cfg.Store.(StateSnapshotter)
	if !ok {
		return errNoBackups
	}
	return s.Snapshot(w)
}
