package commands

import (
	"fmt"
	"text/tabwriter"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

func userCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "users", Usage: "list the users and their roles",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				users, err := p.Users()
				if err != nil {
					return err
				}
				keys, err := p.Keys("")
				if err != nil {
					return err
				}
				count := map[string]int{}
				for _, k := range keys {
					count[k.User]++
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USER\tROLE\tKEYS")
				for _, u := range users {
					fmt.Fprintf(tw, "%s\t%s\t%d\n", u.Name, role(u.Admin), count[u.Name])
				}
				return tw.Flush()
			}),
		},
		{
			Name: "users:add", Usage: "add a user (a member unless --admin); then give them a key with keys:add", ArgsUsage: "NAME [--admin]",
			Flags: []cli.Flag{&cli.BoolFlag{Name: "admin", Usage: "may manage users, keys, the server and every app"}},
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				u, err := p.AddUser(c.Args().First(), c.Bool("admin"))
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Added %s %s\n       give them a key: nua keys:add %s KEYNAME < key.pub\n", role(u.Admin), u.Name, u.Name)
				return nil
			}),
		},
		{
			Name: "users:remove", Usage: "remove a user with their keys and collaborations", ArgsUsage: "NAME",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				if err := p.RemoveUser(c.Args().First()); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Removed %s\n", c.Args().First())
				return nil
			}),
		},
		{
			Name: "whoami", Usage: "say which user and key you are",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				who := caller(c, o)
				fmt.Fprintf(c.App.Writer, "%s (%s)", who.User, role(who.Admin))
				if who.Key != "" {
					fmt.Fprintf(c.App.Writer, " with key %s", who.Key)
				}
				fmt.Fprintf(c.App.Writer, " through %s\n", who.Door)
				return nil
			}),
		},
	}
}

func role(admin bool) string {
	if admin {
		return "admin"
	}
	return "member"
}
