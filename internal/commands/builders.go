package commands

import (
	"fmt"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

// builderCommands manage the Cloud Native Buildpacks builders the operator
// trusts: a builder's lifecycle runs with the container engine's socket,
// so it is the operator's choice, never an app's: admins only (see rules.go).
func builderCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "builders", Usage: "list the CNB builder images builds may use",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				bs, err := p.TrustedBuilders()
				if err != nil {
					return err
				}
				if len(bs) == 0 {
					fmt.Fprintln(c.App.Writer, "No trusted builders: CNB builds are refused until an admin runs builders:trust IMAGE")
				}
				for _, b := range bs {
					fmt.Fprintf(c.App.Writer, "%-50s %s %s\n", b.Image, b.Added.Format("2006-01-02 15:04"), b.By)
				}
				return nil
			}),
		},
		{
			Name: "builders:trust", Usage: "let CNB builds use builder IMAGE (admin)", ArgsUsage: "IMAGE",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				b, err := p.TrustBuilder(c.Args().First(), caller(c, o).User)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Trusted builder %s: CNB builds may use it (pull it on the engine first)\n", b.Image)
				return nil
			}),
		},
		{
			Name: "builders:untrust", Usage: "stop CNB builds from using builder IMAGE (admin)", ArgsUsage: "IMAGE",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 1, 1); err != nil {
					return err
				}
				if err := p.UntrustBuilder(c.Args().First()); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Untrusted builder %s: running releases it built keep running\n", c.Args().First())
				return nil
			}),
		},
	}
}
