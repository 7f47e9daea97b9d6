package commands

import (
	"fmt"
	"io"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

func keyCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "keys", Usage: "list the SSH keys allowed to push and run commands",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				keys, err := p.Keys()
				if err != nil {
					return err
				}
				for _, k := range keys {
					fmt.Fprintf(c.App.Writer, "%-20s %s\n", k.Name, k.Fingerprint)
				}
				return nil
			}),
		},
		{
			Name: "keys:add", Usage: "allow an SSH public key, read from stdin", ArgsUsage: "NAME < key.pub",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				line, err := io.ReadAll(io.LimitReader(c.App.Reader, 64<<10))
				if err != nil {
					return err
				}
				k, err := p.AddKey(c.Args().First(), line)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Added key %s (%s)\n", k.Name, k.Fingerprint)
				return nil
			}),
		},
		{
			Name: "keys:remove", Usage: "revoke an SSH key", ArgsUsage: "NAME",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				if err := p.RemoveKey(c.Args().First()); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Removed key %s\n", c.Args().First())
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
