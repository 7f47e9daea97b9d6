package commands

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/bytesize"
	"github.com/urfave/cli/v2"
)

func resourceCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "resources", Usage: "show the memory, CPU and task limits of each of an app's process types", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				rows, err := p.Resources(name)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TYPE\tMEMORY\tCPU\tTASKS")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Type,
						limit(bytesize.Format(r.Limits.Memory), r.Set.Memory > 0),
						limit(strconv.FormatFloat(r.Limits.CPU, 'f', -1, 64), r.Set.CPU > 0),
						limit(strconv.Itoa(r.Limits.Tasks), r.Set.Tasks > 0))
				}
				if len(rows) == 0 {
					fmt.Fprintln(tw, "(no process types yet: push the app first)")
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if on, why := p.Sandboxed(); !on {
					fmt.Fprintf(c.App.Writer, " !     These limits do not apply: %s.\n", why)
				}
				return nil
			}),
		},
		{
			Name: "resources:set", Usage: "set the limits of each instance of a process type and restart it", ArgsUsage: "APP TYPE memory=SIZE cpu=CORES tasks=N",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 3, -1)
				if err != nil {
					return err
				}
				set, reset, err := nua.ParseLimits(c.Args().Slice()[2:])
				if err != nil {
					return err
				}
				return p.SetResources(c.Context, name, c.Args().Get(1), set, reset, c.App.Writer)
			}),
		},
	}
}

// limit marks a value that is the default.
func limit(v string, set bool) string {
	if set {
		return v
	}
	return v + " (default)"
}
