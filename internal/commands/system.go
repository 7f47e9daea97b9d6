package commands

import (
	"fmt"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/runtime"
	"github.com/nua-paas/nua/toolchains"
	"github.com/urfave/cli/v2"
)

// systemCommands show and free the server's disk: admins only.
func systemCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "system:df", Usage: "show the disk each app and each shared cache takes, and what is free",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				r, err := p.Disk()
				if err != nil {
					return err
				}
				slices.SortFunc(r.Apps, func(a, b nua.AppDisk) int { return int(b.Total() - a.Total()) })
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "APP\tSLUGS\tCACHE\tLOGS\tREPO\tDATA\tTOTAL")
				for _, a := range r.Apps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.App, human(a.Slugs), human(a.Cache), human(a.Logs), human(a.Repo), human(a.Data), human(a.Total()))
				}
				for _, name := range slices.Sorted(maps.Keys(r.Shared)) {
					fmt.Fprintf(tw, "(shared %s)\t\t\t\t\t\t%s\n", name, human(r.Shared[name]))
				}
				tw.Flush()
				fmt.Fprintf(c.App.Writer, "free: %s of %s on %s\n", human(int64(r.Free)), human(int64(r.Total)), p.DataDir())
				return nil
			}),
		},
		{
			Name: "system:prune", Usage: "remove what no app or release needs: files of removed apps, runtimes no release uses (daily by itself)",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				dirs, rts, freed, err := Prune(p)
				for _, d := range dirs {
					fmt.Fprintf(c.App.Writer, "-----> Removed %s (its app is gone)\n", d)
				}
				for _, r := range rts {
					fmt.Fprintf(c.App.Writer, "-----> Removed runtime %s %s\n", r.Name, r.Version)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "       %s freed\n", human(freed))
				setDetail(c, human(freed)+" freed")
				return nil
			}),
		},
	}
}

// Prune removes what no app or kept release needs: the files of apps that
// are gone and the runtimes no release links to. The daemon runs it daily.
func Prune(p *nua.Platform) ([]string, []toolchains.Runtime, int64, error) {
	dirs, freed, err := p.PruneOrphans()
	if err != nil {
		return dirs, nil, freed, err
	}
	slugs, err := runtime.Slugs(p.DataDir())
	if err != nil {
		return dirs, nil, freed, err
	}
	rts, err := toolchains.PruneRuntimes(toolchains.RuntimesDir(p.DataDir()), slugs, pruneGrace)
	for _, r := range rts {
		freed += r.Size
	}
	return dirs, rts, freed, err
}

// human writes n bytes in whole units: 512B, 3.2M, 1.5G.
func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
