package commands

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

func tokenCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "tokens", Usage: "list the API tokens (never their secrets)",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				all, err := p.Tokens()
				if err != nil {
					return err
				}
				var ts []nua.Token
				for _, t := range all {
					if o.Who.Admin || t.User == o.Who.User {
						ts = append(ts, t)
					}
				}
				if len(ts) == 0 {
					fmt.Fprintln(c.App.Writer, "no tokens: make one with `tokens:create [--expires 30d] [--name NAME]`")
					return nil
				}
				now := time.Now()
				tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tUSER\tCREATED\tEXPIRES\tSTATUS")
				for _, t := range ts {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, or(t.Name, "-"), t.User,
						t.Created.Format(time.DateOnly), expiry(t.Expires), t.Status(now))
				}
				return tw.Flush()
			}),
		},
		{
			Name: "tokens:create", Usage: "make an API token with your permissions; its secret is shown once",
			ArgsUsage: "[--expires 30d|12h|2w|never] [--name NAME]",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "expires", Value: "never", Usage: "how long it works: minutes (m), hours (h), days (d) or weeks (w), or never"},
				&cli.StringFlag{Name: "name", Usage: "what the token is for, as `tokens` shows it"},
			},
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				ttl, err := nua.ParseTokenTTL(c.String("expires"))
				if err != nil {
					return err
				}
				secret, t, err := p.CreateToken(o.Who.User, c.String("name"), ttl)
				if err != nil {
					return err
				}
				// The secret alone on stdout, so that TOKEN=$(ssh nua@host tokens:create) works.
				fmt.Fprintf(c.App.ErrWriter, "-----> Created token %s for %s, expires %s\n", t.ID, t.User, expiry(t.Expires))
				fmt.Fprintln(c.App.ErrWriter, "       Store it now: nua keeps only its hash and cannot show it again.")
				fmt.Fprintln(c.App.Writer, secret)
				return nil
			}),
		},
		{
			Name: "tokens:revoke", Usage: "end an API token for good", ArgsUsage: "ID",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				owner := o.Who.User
				if o.Who.Admin {
					owner = ""
				}
				t, err := p.RevokeToken(c.Args().First(), owner)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Revoked token %s of %s\n", t.ID, t.User)
				return nil
			}),
		},
	}
}

// expiry shows when a token expires.
func expiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format("2006-01-02 15:04 MST")
}
