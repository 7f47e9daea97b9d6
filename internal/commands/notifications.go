package commands

import (
	"fmt"
	"strings"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

// notificationCommands manage where the server tells of deploys, crash
// loops, failed backups, certificates and a full disk: server-wide, so
// admins only (see rules.go).
func notificationCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "notifications", Usage: "list the notification channels (admin)",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				ns, err := p.Notifications()
				if err != nil {
					return err
				}
				if len(ns) == 0 {
					fmt.Fprintln(c.App.Writer, "No notifications: add one with notifications:add NAME webhook URL, or NAME email ADDRESS")
				}
				for _, n := range ns {
					fmt.Fprintf(c.App.Writer, "%-20s %-8s %-40s %s\n", n.Name, n.Kind, n.Target, strings.Join(n.Events, ","))
				}
				return nil
			}),
		},
		{
			Name: "notifications:add", Usage: "tell a webhook or an email address of events (admin)", ArgsUsage: "NAME webhook|email URL|ADDRESS",
			Flags: []cli.Flag{&cli.StringFlag{Name: "events", Usage: "comma-separated, of " + strings.Join(nua.NotifyEvents, ",") + " (default: all)"}},
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 3, 3); err != nil {
					return err
				}
				var events []string
				if e := c.String("events"); e != "" {
					events = strings.Split(e, ",")
				}
				n, err := p.AddNotification(c.Args().Get(0), c.Args().Get(1), c.Args().Get(2), events, caller(c, o).User)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Added notification %s: %s %s gets %s\n", n.Name, n.Kind, n.Target, strings.Join(n.Events, ","))
				if n.Secret != "" {
					fmt.Fprintf(c.App.Writer, "       Each request is signed: %s: sha256=HMAC-SHA256(secret, body), with the secret\n       %s\n       (shown once: keep it where the receiver checks it)\n", "X-Nua-Signature", n.Secret)
				}
				return nil
			}),
		},
		{
			Name: "notifications:remove", Usage: "remove notification channel NAME (admin)", ArgsUsage: "NAME",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				if err := p.RemoveNotification(c.Args().First()); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Removed notification %s\n", c.Args().First())
				return nil
			}),
		},
		{
			Name: "notifications:test", Usage: "send a test notice through channel NAME and wait for it (admin)", ArgsUsage: "NAME",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				if err := p.TestNotification(c.Context, c.Args().First()); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Delivered a test notice through %s\n", c.Args().First())
				return nil
			}),
		},
	}
}
