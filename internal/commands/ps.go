package commands

import (
	"fmt"
	"strings"
	"time"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

func psCommands(o Options) []*cli.Command {
	restart := daemon(o, func(c *cli.Context, p *nua.Platform) error {
		name, err := appArgs(c, 1, 2)
		if err != nil {
			return err
		}
		typ := c.Args().Get(1)
		fmt.Fprintf(c.App.Writer, "-----> Restarting %s %s...\n", name, or(typ, "(all processes)"))
		if err := p.Restart(c.Context, name, typ); err != nil {
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
				fmt.Fprintf(w, "%-12s %-9s %-8s %-6s %-9s %-8s %-8s %-9s %s\n", "PROCESS", "STATE", "PID", "PORT", "RESTARTS", "RELEASE", "UPTIME", "MEMORY", "CPU")
				for _, s := range st {
					fmt.Fprintf(w, "%-12s %-9s %-8d %-6d %-9d %-8s %-8s %-9s %s\n", s.Name, s.State, s.PID, s.Port, s.Restarts,
						fmt.Sprintf("v%d", s.Release), time.Since(s.Since).Round(time.Second), memory(s.Memory), cpuShare(s))
				}
				if len(st) == 0 {
					fmt.Fprintln(w, "(no processes running)")
				}
				for _, s := range st {
					if s.OOMKills > 0 {
						typ, _, _ := strings.Cut(s.Name, ".")
						fmt.Fprintf(w, " !     %s was killed %d time(s) for going over its memory limit: see `resources %s`, raise it with `resources:set %s %s memory=SIZE`\n",
							s.Name, s.OOMKills, name, name, typ)
					}
				}
				return nil
			}),
		},
		{Name: "restart", Usage: "restart an app's processes (or one TYPE) with no downtime", ArgsUsage: "APP [TYPE]", Action: restart},
		{Name: "ps:restart", Usage: "same as restart", ArgsUsage: "APP [TYPE]", Action: restart},
		{
			Name: "ps:scale", Usage: "set how many instances of each process type run", ArgsUsage: "APP TYPE=N...",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 2, -1)
				if err != nil {
					return err
				}
				counts, err := nua.ParseScale(c.Args().Tail(), o.maxScale())
				if err != nil {
					return err
				}
				return p.Scale(c.Context, name, counts, c.App.Writer)
			}),
		},
		{
			Name: "ps:stop", Usage: "stop every process of an app until ps:start or the next push", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				if err := p.Stop(c.Context, name); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Stopped %s\n", name)
				return nil
			}),
		},
		{
			Name: "ps:start", Usage: "start a stopped app", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				if err := p.Start(c.Context, name); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Started %s\n", name)
				return nil
			}),
		},
		{
			Name: "run", Usage: "run a one-off command in the app's current release", ArgsUsage: "APP CMD [ARGS...]",
			SkipFlagParsing: true,
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 2, -1)
				if err != nil {
					return err
				}
				code, err := p.Run(c.Context, nua.RunRequest{
					App: name, Command: c.Args().Tail(), TTY: o.TTY,
					Stdin: c.App.Reader, Stdout: c.App.Writer, Stderr: c.App.ErrWriter,
				})
				if err != nil {
					return err
				}
				if code != 0 {
					return exitCode(code)
				}
				return nil
			}),
		},
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
				opt := nua.LogOptions{Lines: c.Int("num"), Follow: c.Bool("tail"), Type: c.String("ps")}
				err = p.Logs(c.Context, name, opt, c.App.Writer)
				if opt.Follow && c.Context.Err() != nil {
					return nil // the follower went away
				}
				return err
			}),
		},
	}
}

// memory shows bytes in use as ps does: "24.1M", "-" when unknown.
func memory(n int64) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
}

// cpuShare is the share of one core an instance used over its current
// run, "-" when unknown (an unsandboxed process, one not running).
func cpuShare(s nua.ProcessStatus) string {
	up := time.Since(s.Since)
	if s.PID == 0 || s.CPU <= 0 || up <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*s.CPU.Seconds()/up.Seconds())
}
