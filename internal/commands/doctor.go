package commands

import (
	"fmt"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

// doctorCommand reports what the server can do: each build backend, and
// what is missing for those that cannot build.
func doctorCommand(o Options) *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check the server's build backends (native, nix, docker)",
		Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
			fmt.Fprintln(o.Stdout, "-----> Build backends")
			for _, b := range p.Backends(c.Context) {
				if b.Err != nil {
					fmt.Fprintf(o.Stdout, "       %-8s unavailable: %v\n", b.Name, b.Err)
				} else {
					fmt.Fprintf(o.Stdout, "       %-8s ok\n", b.Name)
				}
			}
			return nil
		}),
	}
}
