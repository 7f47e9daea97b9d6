package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nua-paas/nua"
)

// Backups captures, keeps and restores apps' backups; the backup package
// implements it.
type Backups interface {
	// Capture backs the app up to every target; an error when any failed.
	Capture(ctx context.Context, app, by string) (nua.Backup, error)
	// Backups lists the app's backups, oldest first.
	Backups(app string) ([]nua.Backup, error)
	// Restore brings backup id back into the app, in place.
	Restore(ctx context.Context, app, id, by string, out io.Writer) error
	// RestoreTo brings the app's backup id back as a new app, to.
	RestoreTo(ctx context.Context, app, id, to, by string, out io.Writer) error
	// Download writes the backup's encrypted archive to w.
	Download(ctx context.Context, app, id string, w io.Writer) error
	// Delete removes the backup from its targets and the list.
	Delete(ctx context.Context, app, id string) error
	// Targets lists the S3 targets, secret keys blanked.
	Targets() ([]nua.BackupTarget, error)
	// LocalDir is where the local target keeps archives.
	LocalDir() string
	// AddTarget adds an S3 target, checking its bucket answers if check.
	AddTarget(ctx context.Context, t nua.BackupTarget, check bool) error
	// RemoveTarget removes an S3 target.
	RemoveTarget(name string) error
	// SetSchedule makes the daemon back an app up on a schedule.
	SetSchedule(nua.BackupSchedule) error
	// Schedule returns the app's schedule, if it has one.
	Schedule(app string) (nua.BackupSchedule, bool, error)
	// Unschedule stops the app's scheduled backups.
	Unschedule(app string) error
	// Verify drills a restore of backup id into a scratch app.
	Verify(ctx context.Context, app, id, by string, out io.Writer) error
	// CaptureServer backs up the whole server: state, keys, every app.
	CaptureServer(ctx context.Context, by string, out io.Writer) (nua.Backup, error)
}

var errNoBackupService = fmt.Errorf("%w: this nua keeps no backups (nua dev and the local door have none)", nua.ErrInvalid)

// backups wraps the action of a backup command: a daemon command that
// needs the backup service.
func backups(o Options, fn func(c *cli.Context, b Backups) error) cli.ActionFunc {
	return daemon(o, func(c *cli.Context, _ *nua.Platform) error {
		if o.Backups == nil {
			return errNoBackupService
		}
		return fn(c, o.Backups)
	})
}

// backupCommands capture, list, restore and keep apps' backups.
func backupCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "backups", Usage: "list the app's backups", ArgsUsage: "APP",
			Action: backups(o, func(c *cli.Context, b Backups) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				all, err := b.Backups(name)
				if err != nil {
					return err
				}
				if sch, ok, err := b.Schedule(name); err == nil && ok {
					fmt.Fprintf(c.App.Writer, "Scheduled %q, keeping %d daily and %d weekly, drilled %s\n", sch.Cron, sch.KeepDaily, sch.KeepWeekly, or(sch.Verify, "never"))
				}
				if len(all) == 0 {
					fmt.Fprintf(c.App.Writer, "No backups of %s: make one with backups:capture %s\n", name, name)
				}
				for _, bk := range all {
					fmt.Fprintln(c.App.Writer, backupLine(bk, time.Now()))
				}
				return nil
			}),
		},
		{
			Name: "backups:capture", Usage: "back the app up now: data dir, addons, config, to every target", ArgsUsage: "APP",
			Action: backups(o, func(c *cli.Context, b Backups) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Backing up %s\n", name)
				bk, err := b.Capture(c.Context, name, caller(c, o).User)
				for _, cp := range bk.Copies {
					if cp.OK {
						fmt.Fprintf(c.App.Writer, "       %s: ok\n", cp.Target)
					} else if cp.Error != "" {
						fmt.Fprintf(c.App.Writer, "       %s: FAILED: %s\n", cp.Target, cp.Error)
					}
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Backup %s of %s: %s, SHA-256 %.12s\n", bk.ID, name, size(bk.Size), bk.SHA256)
				return nil
			}),
		},
		{
			Name: "backups:restore", Usage: "bring the app's data dir, addons and config back from a backup, in place or as a new app", ArgsUsage: "APP ID [--to NEWAPP]",
			Flags: []cli.Flag{&cli.StringFlag{Name: "to", Usage: "restore into NEWAPP, made for it with new addons, its commit rebuilt"}},
			Action: backups(o, func(c *cli.Context, b Backups) error {
				name, err := appArgs(c, 2, 2)
				if err != nil {
					return err
				}
				id := c.Args().Get(1)
				if to := c.String("to"); to != "" {
					if err := b.RestoreTo(c.Context, name, id, to, caller(c, o).User, c.App.Writer); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "-----> Restored backup %s of %s as %s\n", id, name, to)
					return nil
				}
				if err := b.Restore(c.Context, name, id, caller(c, o).User, c.App.Writer); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Restored %s from backup %s\n", name, id)
				return nil
			}),
		},
		{
			Name: "backups:download", Usage: "write a backup's archive, encrypted as stored, to stdout", ArgsUsage: "APP ID > FILE",
			Action: backups(o, func(c *cli.Context, b Backups) error {
				name, err := appArgs(c, 2, 2)
				if err != nil {
					return err
				}
				return b.Download(c.Context, name, c.Args().Get(1), c.App.Writer)
			}),
		},
		{
			Name: "backups:delete", Usage: "delete a backup from every target", ArgsUsage: "APP ID",
			Action: backups(o, func(c *cli.Context, b Backups) error {
				name, err := appArgs(c, 2, 2)
				if err != nil {
					return err
				}
				if err := b.Delete(c.Context, name, c.Args().Get(1)); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Deleted backup %s of %s\n", c.Args().Get(1), name)
				return nil
			}),
		},
		{
			Name: "backups:schedule", Usage: "back the app up on a cron schedule, pruning and drilling; no schedule: show it",
			ArgsUsage: "APP [\"0 3 * * *\"|@daily] [--keep-daily N --keep-weekly N --verify weekly]",
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "keep-daily", Usage: "keep the newest backup of each of the last N days (0 and no --keep-weekly: prune nothing)"},
				&cli.IntFlag{Name: "keep-weekly", Usage: "keep the newest backup of each of the last N weeks"},
				&cli.StringFlag{Name: "verify", Usage: "drill a restore of the new backup daily or weekly"},
			},
			Action: backups(o, func(c *cli.Context, b Backups) error {
				name, err := appArgs(c, 1, 2)
				if err != nil {
					return err
				}
				if c.NArg() == 1 {
					sch, ok, err := b.Schedule(name)
					if err != nil {
						return err
					}
					if !ok {
						fmt.Fprintf(c.App.Writer, "%s has no backup schedule: set one with backups:schedule %s \"0 3 * * *\"\n", name, name)
						return nil
					}
					fmt.Fprintf(c.App.Writer, "%s: %q, keep %d daily and %d weekly, drill %s\n", name, sch.Cron, sch.KeepDaily, sch.KeepWeekly, or(sch.Verify, "never"))
					return nil
				}
				sch := nua.BackupSchedule{App: name, Cron: c.Args().Get(1), KeepDaily: c.Int("keep-daily"), KeepWeekly: c.Int("keep-weekly"),
					Verify: c.String("verify"), By: caller(c, o).User}
				if err := b.SetSchedule(sch); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> %s is backed up on %q\n", name, sch.Cron)
				return nil
			}),
		},
		{
			Name: "backups:unschedule", Usage: "stop the app's scheduled backups; its backups stay", ArgsUsage: "APP",
			Action: backups(o, func(c *cli.Context, b Backups) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				if err := b.Unschedule(name); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> %s is no longer backed up on a schedule\n", name)
				return nil
			}),
		},
		{
			Name: "backups:verify", Usage: "prove a backup: restore it into a scratch app, boot it, check it, remove it", ArgsUsage: "APP ID",
			Action: backups(o, func(c *cli.Context, b Backups) error {
				name, err := appArgs(c, 2, 2)
				if err != nil {
					return err
				}
				if err := b.Verify(c.Context, name, c.Args().Get(1), caller(c, o).User, c.App.Writer); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Backup %s of %s restores and boots\n", c.Args().Get(1), name)
				return nil
			}),
		},
		{
			Name: "server:backup", Usage: "back up the whole server: its state, backup keys and every app, anew (admin)",
			Action: backups(o, func(c *cli.Context, b Backups) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				bk, err := b.CaptureServer(c.Context, caller(c, o).User, c.App.Writer)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Server backup %s: %s; download it with backups:download %s %s\n", bk.ID, size(bk.Size), nua.ReservedApp, bk.ID)
				return nil
			}),
		},
		{
			Name: "backups:targets", Usage: "list where backups go (admin)",
			Action: backups(o, func(c *cli.Context, b Backups) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				ts, err := b.Targets()
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "%-16s %s\n", nua.LocalTarget, b.LocalDir())
				for _, t := range ts {
					fmt.Fprintf(c.App.Writer, "%-16s %s at %s (access key %s)\n", t.Name, t.URL, t.Endpoint, t.AccessKey)
				}
				return nil
			}),
		},
		{
			Name: "backups:targets:add", Usage: "send backups to an S3 bucket too; the secret key is read from stdin (admin)",
			ArgsUsage: "NAME s3://BUCKET[/PREFIX] --endpoint URL --access-key KEY < SECRET",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "endpoint", Usage: "the store's base URL, https://HOST[:PORT]", Required: true},
				&cli.StringFlag{Name: "access-key", Usage: "the access key id", Required: true},
				&cli.StringFlag{Name: "region", Usage: "the bucket's region, if the store needs one"},
				&cli.BoolFlag{Name: "no-check", Usage: "keep it even if the bucket does not answer now"},
			},
			Action: backups(o, func(c *cli.Context, b Backups) error {
				if err := wantArgs(c, 2, 2); err != nil {
					return err
				}
				secret, err := readSecret(c.App.Reader)
				if err != nil {
					return err
				}
				t := nua.BackupTarget{Name: c.Args().Get(0), URL: c.Args().Get(1), Endpoint: c.String("endpoint"),
					AccessKey: c.String("access-key"), SecretKey: secret, Region: c.String("region"), By: caller(c, o).User}
				if err := b.AddTarget(c.Context, t, !c.Bool("no-check")); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Added backup target %s: %s at %s\n", t.Name, t.URL, t.Endpoint)
				return nil
			}),
		},
		{
			Name: "backups:targets:remove", Usage: "stop sending backups to target NAME; what it holds stays (admin)", ArgsUsage: "NAME",
			Action: backups(o, func(c *cli.Context, b Backups) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				if err := b.RemoveTarget(c.Args().First()); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Removed backup target %s\n", c.Args().First())
				return nil
			}),
		},
	}
}

// readSecret reads the secret key, the first line of stdin.
func readSecret(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("give the secret key on stdin")
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	secret := strings.TrimSpace(line)
	if secret == "" {
		return "", fmt.Errorf("%w: give the secret key on stdin: echo \"$SECRET\" | nua backups:targets:add ...", nua.ErrInvalid)
	}
	return secret, nil
}

// backupLine is one backup as `backups` lists it.
func backupLine(b nua.Backup, now time.Time) string {
	var targets []string
	for _, c := range b.Copies {
		if c.OK {
			targets = append(targets, c.Target)
		} else {
			targets = append(targets, c.Target+"(failed)")
		}
	}
	status := "ok"
	if b.Status != nua.BackupOK {
		status = "FAILED: " + b.Error
	}
	verified := "never verified"
	if !b.Verified.IsZero() {
		verified = "verified " + ago(now.Sub(b.Verified))
		if b.VerifyError != "" {
			verified = "verify FAILED " + ago(now.Sub(b.Verified)) + ": " + b.VerifyError
		}
	}
	return fmt.Sprintf("%-18s %-10s %9s  %-24s %-16s %s", b.ID, ago(now.Sub(b.Created)), size(b.Size), strings.Join(targets, ","), verified, status)
}

// lastBackup is what apps:info says of the app's newest backup.
func lastBackup(b nua.Backup, now time.Time) string {
	if b.Status == nua.BackupOK {
		return "last backup ok " + ago(now.Sub(b.Created))
	}
	return "last backup FAILED " + ago(now.Sub(b.Created)) + ": " + b.Error
}

// ago says how long ago d was, roughly.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

// size is n bytes for people.
func size(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	}
}
