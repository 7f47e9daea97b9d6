package commands

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/excerpt"
)

func appCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "apps", Usage: "list the apps you may act on (every app for an admin)",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				apps, err := p.AppsFor(caller(c, o))
				if err != nil {
					return err
				}
				for _, a := range apps {
					fmt.Fprintln(c.App.Writer, a.Name)
				}
				return nil
			}),
		},
		{
			Name: "apps:create", Usage: "create an app you own (a first push creates it too)", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				if _, err := p.CreateApp(name, caller(c, o).Owner()); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Created %s\n       push to it: git remote add nua ssh://nua@HOST/%s && git push nua main\n", name, name)
				return nil
			}),
		},
		{
			Name: "apps:destroy", Usage: "stop an app and delete its code, releases and logs", ArgsUsage: "APP --confirm APP",
			Flags: []cli.Flag{&cli.StringFlag{Name: "confirm", Usage: "the app's name, to confirm"}},
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				if c.String("confirm") != name {
					return usageError{fmt.Sprintf("this deletes %s for good: run again with --confirm %s", name, name)}
				}
				if err := p.DestroyApp(c.Context, name, c.App.Writer); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Destroyed %s\n", name)
				return nil
			}),
		},
		{
			Name: "apps:info", Usage: "show an app's state", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				a, err := p.App(name)
				if err != nil {
					return err
				}
				acc, err := p.Access(name)
				if err != nil {
					return err
				}
				w := c.App.Writer
				fmt.Fprintf(w, "=== %s\n", a.Name)
				fmt.Fprintf(w, "Owner:    %s\n", or(acc.Owner, "none (admins only)"))
				fmt.Fprintf(w, "Branch:   %s\n", or(a.Branch, "main (until the first push)"))
				fmt.Fprintf(w, "Created:  %s\n", a.Created.Format("2006-01-02 15:04:05 MST"))
				fmt.Fprintf(w, "Release:  v%d\n", a.Release)
				fmt.Fprintf(w, "URL:      %s\n", p.URL(a.Name))
				if certs, err := p.Certs(name); err == nil {
					fmt.Fprintf(w, "Domains:  %s\n", strings.Join(p.Hosts(a), ", "))
					fmt.Fprintf(w, "HTTPS:    %s\n", certSummary(certs))
				}
				if st, err := p.Ps(name); err == nil && len(st) > 0 {
					var up, restarts int
					var mem int64
					var cpu time.Duration
					for _, s := range st {
						if s.State == "up" {
							up++
						}
						restarts, mem, cpu = restarts+s.Restarts, mem+s.Memory, cpu+s.CPU
					}
					fmt.Fprintf(w, "Processes: %d up of %d, %s memory, %s CPU time, %d restarts\n", up, len(st), memory(mem), cpu.Round(10*time.Millisecond), restarts)
				}
				if b, ok := p.LastBackup(name); ok {
					fmt.Fprintf(w, "Backups:  %s\n", lastBackup(b, time.Now()))
				}
				return nil
			}),
		},
		{
			Name: "rollback", Usage: "go back to a previous release's build and config, with no rebuild", ArgsUsage: "APP [vN]",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 2)
				if err != nil {
					return err
				}
				v := 0
				if arg := c.Args().Get(1); arg != "" {
					if v, err = parseVersion(arg); err != nil {
						return err
					}
				}
				return p.Rollback(c.Context, name, v, caller(c, o).User, c.App.Writer)
			}),
		},
		{
			Name: "apps:purge-cache", Usage: "empty an app's build cache: the next build starts cold", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				freed, err := p.PurgeCache(name)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Purged the build cache of %s (%s freed)\n", name, human(freed))
				return nil
			}),
		},
		{
			Name: "releases", Usage: "list an app's releases", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				rels, err := p.Releases(name)
				if err != nil {
					return err
				}
				a, err := p.App(name)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "=== %s Releases\n", name)
				for i := len(rels) - 1; i >= 0; i-- {
					r := rels[i]
					mark := " "
					if r.Version == a.Release {
						mark = "*"
					}
					fmt.Fprintf(c.App.Writer, "%sv%-4d %-36s %-10s %-14s %s\n", mark, r.Version, r.Description, or(r.Status, nua.StatusSucceeded), r.By, r.Created.Format("2006-01-02 15:04:05"))
				}
				return nil
			}),
		},
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// parseVersion reads a release version given as vN or N.
func parseVersion(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	if err != nil || n <= 0 {
		return 0, usageError{fmt.Sprintf("%q is not a release version: give it as v3", excerpt.Of(s))}
	}
	return n, nil
}
