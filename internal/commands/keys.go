package commands

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

// keyCommands manage SSH keys. A key belongs to one user; its name is
// unique among that user's keys, so keys:remove names both.
func keyCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "keys", Usage: "list your SSH keys, a user's (admins), or everyone's (admins, with no USER)", ArgsUsage: "[USER]",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 1); err != nil {
					return err
				}
				user := c.Args().First()
				if who := caller(c, o); user == "" && !who.Admin {
					user = who.User
				}
				keys, err := p.Keys(user)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USER\tKEY\tFINGERPRINT")
				for _, k := range keys {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", k.User, k.Name, k.Fingerprint)
				}
				return tw.Flush()
			}),
		},
		{
			Name: "keys:add", Usage: "give a user an SSH public key, read from stdin", ArgsUsage: "USER KEYNAME < key.pub",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 2, 2); err != nil {
					return err
				}
				line, err := io.ReadAll(io.LimitReader(c.App.Reader, 64<<10))
				if err != nil {
					return err
				}
				k, err := p.AddKey(c.Args().Get(0), c.Args().Get(1), line)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Added key %s of %s (%s)\n", k.Name, k.User, k.Fingerprint)
				return nil
			}),
		},
		{
			Name: "keys:remove", Usage: "revoke a user's SSH key", ArgsUsage: "USER KEYNAME",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 2, 2); err != nil {
					return err
				}
				if err := p.RemoveKey(c.Args().Get(0), c.Args().Get(1)); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Removed key %s of %s\n", c.Args().Get(1), c.Args().Get(0))
				return nil
			}),
		},
	}
}

func versionCommand(o Options) *cli.Command {
	return &cli.Command{
		Name: "version", Usage: "print nua's version",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "nua %s\n", nua.Version)
			return nil
		},
	}
}
