package commands

import (
	"fmt"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/procman"
	"github.com/urfave/cli/v2"
)

func psCommands(o Options) []*cli.Command {
	restart := daemon(o, func(c *cli.Context, p *nua.Platform) error {
		name, err := appArgs(c, 1, 1)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "-----> Restarting %s...\n", name)
		if err := p.Restart(c.Context, name); err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, "       done")
		return nil
	})
	return []*cli.Command{
		{
			Name: "ps", Usage: "list an app's processes", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				st, err := p.Ps(name)
				if err != nil {
					return err
				}
				w := c.App.Writer
				fmt.Fprintf(w, "%-12s %-9s %-8s %-6s %-9s %s\n", "PROCESS", "STATE", "PID", "PORT", "RESTARTS", "SINCE")
				for _, s := range st {
					fmt.Fprintf(w, "%-12s %-9s %-8d %-6d %-9d %s\n", s.Name, s.State, s.PID, s.Port, s.Restarts, time.Since(s.Since).Round(time.Second))
				}
				return nil
			}),
		},
		{Name: "restart", Usage: "restart an app's processes with no downtime", ArgsUsage: "APP", Action: restart},
		{Name: "ps:restart", Usage: "same as restart", ArgsUsage: "APP", Action: restart},
		{
			Name: "logs", Usage: "show an app's logs", ArgsUsage: "APP [-n N] [-t] [-p TYPE]",
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "num", Aliases: []string{"n"}, Value: 100, Usage: "lines to show"},
				&cli.BoolFlag{Name: "tail", Aliases: []string{"t"}, Usage: "keep following new lines"},
				&cli.StringFlag{Name: "ps", Aliases: []string{"p"}, Usage: "only this process type"},
			},
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				if n := c.Int("num"); n < 0 || n > 100000 {
					return usageError{"-n takes 0 to 100000 lines"}
				}
				opt := procman.LogOptions{Lines: c.Int("num"), Follow: c.Bool("tail"), Type: c.String("ps")}
				err = p.Logs(c.Context, name, opt, c.App.Writer)
				if opt.Follow && c.Context.Err() != nil {
					return nil // the follower went away
				}
				return err
			}),
		},
	}
}
