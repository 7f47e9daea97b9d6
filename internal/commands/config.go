package commands

import (
	"fmt"
	"maps"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/excerpt"
)

func configCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "config", Usage: "show an app's config vars", ArgsUsage: "APP",
			Flags: []cli.Flag{&cli.BoolFlag{Name: "shell", Usage: "print KEY=value lines"}},
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				a, err := p.App(name)
				if err != nil {
					return err
				}
				keys := slices.Sorted(maps.Keys(a.Config))
				if c.Bool("shell") {
					for _, k := range keys {
						fmt.Fprintf(c.App.Writer, "%s=%s\n", k, a.Config[k])
					}
					return nil
				}
				width := 0
				for _, k := range keys {
					width = max(width, len(k)+1)
				}
				fmt.Fprintf(c.App.Writer, "=== %s Config Vars\n", name)
				for _, k := range keys {
					fmt.Fprintf(c.App.Writer, "%-*s %s\n", width, k+":", a.Config[k])
				}
				return nil
			}),
		},
		{
			Name: "config:get", Usage: "print one config var", ArgsUsage: "APP KEY",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 2, 2)
				if err != nil {
					return err
				}
				a, err := p.App(name)
				if err != nil {
					return err
				}
				v, ok := a.Config[c.Args().Get(1)]
				if !ok {
					return fmt.Errorf("config var %s of %s: %w", excerpt.Of(c.Args().Get(1)), name, nua.ErrNotFound)
				}
				fmt.Fprintln(c.App.Writer, v)
				return nil
			}),
		},
		{
			Name: "config:set", Usage: "set config vars and restart the app", ArgsUsage: "APP KEY=value...",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 2, -1)
				if err != nil {
					return err
				}
				vars, err := nua.ParseConfigVars(c.Args().Tail())
				if err != nil {
					return err
				}
				return p.SetConfig(c.Context, name, vars, nil, caller(c, o).User, c.App.Writer)
			}),
		},
		{
			Name: "config:unset", Usage: "remove config vars and restart the app", ArgsUsage: "APP KEY...",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 2, -1)
				if err != nil {
					return err
				}
				return p.SetConfig(c.Context, name, nil, c.Args().Tail(), caller(c, o).User, c.App.Writer)
			}),
		},
	}
}
