package commands

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/runtime"
	"github.com/nua-paas/nua/toolchains"
	"github.com/urfave/cli/v2"
)

// pruneGrace spares runtimes fetched this recently: a build may be about
// to link one into its slug.
const pruneGrace = time.Hour

// runtimeCommands list and prune the runtimes nua provides to apps (Node.js
// versions, npm, yarn, pnpm, Go toolchains): server-wide, admins only.
func runtimeCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "runtimes", Usage: "list the runtimes nua provides to apps, with their size",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				rts, err := toolchains.ListRuntimes(toolchains.RuntimesDir(p.DataDir()))
				if err != nil {
					return err
				}
				if len(rts) == 0 {
					fmt.Fprintln(c.App.Writer, "No runtimes: apps build with the server's own")
					return nil
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tVERSION\tSIZE\tFETCHED")
				var total int64
				for _, r := range rts {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Version, human(r.Size), r.Fetched.UTC().Format("2006-01-02 15:04"))
					total += r.Size
				}
				tw.Flush()
				fmt.Fprintf(c.App.Writer, "%d runtimes, %s in all\n", len(rts), human(total))
				return nil
			}),
		},
		{
			Name: "runtimes:prune", Usage: "remove the runtimes no kept release uses (Go toolchains: all, they serve builds only)",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				slugs, err := runtime.Slugs(p.DataDir())
				if err != nil {
					return err
				}
				removed, err := toolchains.PruneRuntimes(toolchains.RuntimesDir(p.DataDir()), slugs, pruneGrace)
				var freed int64
				for _, r := range removed {
					fmt.Fprintf(c.App.Writer, "-----> Removed %s %s (%s)\n", r.Name, r.Version, human(r.Size))
					freed += r.Size
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "       %d removed, %s freed; runtimes fetched in the last %s are kept\n", len(removed), human(freed), pruneGrace)
				setDetail(c, fmt.Sprintf("%d removed", len(removed)))
				return nil
			}),
		},
	}
}
