package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/addons"
	"github.com/nua-paas/nua/addons/builtin"
	"github.com/nua-paas/nua/internal/excerpt"
)

// Interactive reports whether command name hands the session's terminal
// to a program (run, the addon clients), which wants it as it is.
func Interactive(name string) bool {
	return name == "run" || slices.Contains([]string{"pg:psql", "redis:cli", "mariadb:cli"}, name)
}

// authorizeAddon checks who may act on the addon named at argument 0:
// members of the app that made it, or for a command that changes nothing
// of an app it is attached to. It refuses an addon that does not exist
// the same way as one the caller may not touch.
func authorizeAddon(p *nua.Platform, who nua.Identity, rule Rule, name string) error {
	if who.Admin || name == "" {
		return nil
	}
	a, err := p.AddonInfo(name)
	if errors.Is(err, nua.ErrNotFound) {
		return forbidden("you have no access to an addon %s: see `addons` for yours", excerpt.Of(name))
	}
	if err != nil {
		return err
	}
	apps := []string{a.App}
	if !rule.Change {
		for _, at := range a.Attachments {
			apps = append(apps, at.App)
		}
	}
	for _, app := range apps {
		if acc, err := p.Access(app); err == nil && acc.Member(who.User) {
			return nil
		}
	}
	return forbidden("addon %s belongs to app %s, which you have no access to: ask its owner or an admin", name, a.App)
}

// addonApp is the app that made the addon name, whose trail records what
// is done to it; "" when there is none.
func addonApp(p *nua.Platform, name string) string {
	if a, err := p.AddonInfo(name); err == nil {
		return a.App
	}
	return ""
}

func addonCommands(o Options) []*cli.Command {
	asFlag := &cli.StringFlag{Name: "as", Usage: "attach as NAME: the config var is NAME_URL (default DATABASE, or REDIS)"}
	return []*cli.Command{
		{
			Name: "addons", Usage: "list the addons of an app, or of all your apps", ArgsUsage: "[APP]",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 1); err != nil {
					return err
				}
				var list []nua.Addon
				var err error
				if app := c.Args().First(); app != "" {
					list, err = p.Addons(app)
				} else {
					list, err = p.AddonsFor(caller(c, o))
				}
				if err != nil {
					return err
				}
				printAddons(c.App.Writer, list)
				return nil
			}),
		},
		{
			Name: "addons:create", Usage: "make an addon for an app and attach it", ArgsUsage: "APP postgres|redis|mariadb [--as NAME] [--name ADDON]",
			Flags: []cli.Flag{asFlag, &cli.StringFlag{Name: "name", Usage: "the addon's name (default: KIND-WORD-NUMBER)"}},
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 2, 2)
				if err != nil {
					return err
				}
				_, err = p.CreateAddon(c.Context, nua.AddonRequest{
					App: name, Kind: c.Args().Get(1), Name: c.String("name"), As: strings.ToUpper(c.String("as")), By: caller(c, o).User,
				}, c.App.Writer)
				return err
			}),
		},
		{
			Name: "addons:info", Usage: "show an addon: kind, app, attachments, size", ArgsUsage: "ADDON",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				a, err := p.AddonInfo(c.Args().First())
				if err != nil {
					return err
				}
				return printAddonInfo(c.Context, c.App.Writer, p, a)
			}),
		},
		{
			Name: "addons:attach", Usage: "put an addon's URL in another app's config", ArgsUsage: "ADDON APP [--as NAME]",
			Flags: []cli.Flag{asFlag},
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 2, 2); err != nil {
					return err
				}
				return p.AttachAddon(c.Context, c.Args().Get(0), c.Args().Get(1), strings.ToUpper(c.String("as")), caller(c, o).User, c.App.Writer)
			}),
		},
		{
			Name: "addons:detach", Usage: "remove an addon's URL from an app's config", ArgsUsage: "ADDON APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 2, 2); err != nil {
					return err
				}
				return p.DetachAddon(c.Context, c.Args().Get(0), c.Args().Get(1), caller(c, o).User, c.App.Writer)
			}),
		},
		{
			Name: "addons:destroy", Usage: "detach an addon and delete it with its data", ArgsUsage: "ADDON --confirm ADDON",
			Flags: []cli.Flag{&cli.StringFlag{Name: "confirm", Usage: "the addon's name, to confirm"}},
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				name := c.Args().First()
				if err := nua.ValidateAddonName(name); err != nil {
					return err
				}
				if c.String("confirm") != name {
					return usageError{fmt.Sprintf("this deletes %s and its data for good: run again with --confirm %s", name, name)}
				}
				return p.DestroyAddon(c.Context, name, caller(c, o).User, c.App.Writer)
			}),
		},
		clientCommand(o, "pg:psql", "postgres", "psql"),
		clientCommand(o, "redis:cli", "redis", "redis-cli"),
		clientCommand(o, "mariadb:cli", "mariadb", "the mariadb client"),
		{
			Name: "pg:info", Usage: "show an app's PostgreSQL addons: size, connections", ArgsUsage: "APP [ADDON]",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 2)
				if err != nil {
					return err
				}
				list, err := p.Addons(name)
				if err != nil {
					return err
				}
				shown := 0
				for _, a := range list {
					if a.Kind != "postgres" || (c.Args().Get(1) != "" && a.Name != c.Args().Get(1)) {
						continue
					}
					if err := printAddonInfo(c.Context, c.App.Writer, p, a); err != nil {
						return err
					}
					shown++
				}
				if shown == 0 && c.Args().Get(1) != "" {
					return fmt.Errorf("%w: %s has no PostgreSQL addon %s: see `addons %s`", nua.ErrInvalid, name, excerpt.Of(c.Args().Get(1)), name)
				}
				if shown == 0 {
					return fmt.Errorf("%w: %s has no PostgreSQL addon: create one with `addons:create %s postgres`", nua.ErrInvalid, name, name)
				}
				return nil
			}),
		},
	}
}

// clientCommand runs the client of kind connected to the app's addon, in
// the app's sandbox: interactive with `ssh -t`, else reading stdin.
func clientCommand(o Options, name, kind, client string) *cli.Command {
	return &cli.Command{
		Name: name, Usage: "open " + client + " on an app's " + kind + " addon (a terminal with ssh -t, else commands on stdin)", ArgsUsage: "APP [ADDON]",
		Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
			app, err := appArgs(c, 1, 2)
			if err != nil {
				return err
			}
			code, err := p.AddonClient(c.Context, app, kind, c.Args().Get(1), nua.RunRequest{
				TTY: o.TTY, Stdin: c.App.Reader, Stdout: c.App.Writer, Stderr: c.App.ErrWriter,
			})
			if err != nil {
				return err
			}
			if code != 0 {
				return exitCode(code)
			}
			return nil
		}),
	}
}

func printAddons(w io.Writer, list []nua.Addon) {
	if len(list) == 0 {
		fmt.Fprintln(w, "No addons. Make one with `addons:create APP postgres|redis|mariadb`.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDON\tKIND\tAPP\tATTACHED AS")
	for _, a := range list {
		var as []string
		for _, at := range a.Attachments {
			as = append(as, at.App+"::"+at.Var())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.Kind, a.App, or(strings.Join(as, ", "), "-"))
	}
	tw.Flush()
}

func printAddonInfo(ctx context.Context, w io.Writer, p *nua.Platform, a nua.Addon) error {
	rows := [][2]string{{"Kind", a.Kind}, {"App", a.App}, {"Created", a.Created.Format("2006-01-02 15:04:05 MST")}}
	for _, at := range a.Attachments {
		rows = append(rows, [2]string{"Attached", at.App + " as " + at.Var()})
	}
	details, err := p.AddonDetails(ctx, a)
	if err != nil {
		rows = append(rows, [2]string{"Status", "unavailable: " + message(err)})
	}
	rows = append(rows, details...)
	fmt.Fprintf(w, "=== %s\n", a.Name)
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

// doctorAddons lists each addon kind: its server binary and version, and
// the servers running with their memory.
func doctorAddons(ctx context.Context, w io.Writer, data string) {
	fmt.Fprintln(w, "-----> Addon services")
	_, who, err := addons.ServiceUserInfo()
	if err != nil {
		who = err.Error()
	}
	svc := addons.New(builtin.Drivers(addons.Host{Dir: builtin.Dir(data)})...)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range svc.Doctor(ctx) {
		if c.Problem != "" {
			fmt.Fprintf(tw, "       %s\tmissing\t%s\n", c.Kind, message(errors.New(c.Problem)))
			continue
		}
		var mem int64
		for _, s := range c.Servers {
			mem += s.Memory
		}
		running := "not running (no addons yet, or nua is stopped)"
		if n := len(c.Servers); n > 0 {
			running = fmt.Sprintf("%d server(s) running, %s", n, memory(mem))
		}
		fmt.Fprintf(tw, "       %s\tready\t%s (%s)\t%s\n", c.Kind, c.Version, c.Binary, running)
	}
	tw.Flush()
	fmt.Fprintf(w, "       %s\n", who)
}
