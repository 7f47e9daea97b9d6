package commands

import (
	"fmt"
	"text/tabwriter"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

func eventCommands(o Options) []*cli.Command {
	return []*cli.Command{{
		Name: "events", Usage: "show the audit trail: who changed what, when, how it went", ArgsUsage: "[APP] [-n N]",
		Flags: []cli.Flag{&cli.IntFlag{Name: "num", Aliases: []string{"n"}, Value: 50, Usage: "events to show"}},
		Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
			if err := wantArgs(c, 0, 1); err != nil {
				return err
			}
			app := c.Args().First()
			if app != "" {
				if err := nua.ValidateAppName(app); err != nil {
					return err
				}
			}
			n := c.Int("num")
			if n < 1 || n > nua.MaxEvents {
				return usageError{fmt.Sprintf("-n takes 1 to %d events", nua.MaxEvents)}
			}
			evs, err := p.Events(caller(c, o), app, n)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tAPP\tUSER\tKEY\tDOOR\tACTION\tDETAIL\tOUTCOME")
			for _, e := range evs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format("2006-01-02 15:04:05"),
					or(e.App, "-"), e.User, or(e.Key, "-"), e.Door, e.Action, or(e.Detail, "-"), e.Outcome)
			}
			return tw.Flush()
		}),
	}}
}
