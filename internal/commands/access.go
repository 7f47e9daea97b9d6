package commands

import (
	"fmt"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

// accessCommands manage who may act on an app, as Heroku's collaborators.
func accessCommands(o Options) []*cli.Command {
	change := func(verb string, fn func(p *nua.Platform, app, user string) error) cli.ActionFunc {
		return daemon(o, func(c *cli.Context, p *nua.Platform) error {
			app, err := appArgs(c, 2, 2)
			if err != nil {
				return err
			}
			user := c.Args().Get(1)
			if err := fn(p, app, user); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "-----> %s %s: %s\n", verb, app, user)
			return nil
		})
	}
	return []*cli.Command{
		{
			Name: "access", Usage: "list who may act on an app", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				app, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				acc, err := p.Access(app)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "=== %s Access\n", app)
				fmt.Fprintf(c.App.Writer, "%-20s owner\n", or(acc.Owner, "(none: admins only)"))
				for _, u := range acc.Collaborators {
					fmt.Fprintf(c.App.Writer, "%-20s collaborator\n", u)
				}
				return nil
			}),
		},
		{
			Name: "access:add", Usage: "let a user push to and act on an app (not destroy it)", ArgsUsage: "APP USER",
			Action: change("Added a collaborator to", (*nua.Platform).AddCollaborator),
		},
		{
			Name: "access:remove", Usage: "take a collaborator's access to an app away", ArgsUsage: "APP USER",
			Action: change("Removed a collaborator from", (*nua.Platform).RemoveCollaborator),
		},
		{
			Name: "apps:transfer", Usage: "give an app to another user; you stay a collaborator", ArgsUsage: "APP USER",
			Action: change("Transferred", (*nua.Platform).Transfer),
		},
	}
}
