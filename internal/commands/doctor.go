package commands

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/runtime/sandbox"
	"github.com/nua-paas/nua/toolchains"
	"github.com/urfave/cli/v2"
)

// doctorCommand checks the host it runs on: the Local door runs it on the
// machine of the nua binary, the SSH and socket doors on the server.
func doctorCommand(o Options) *cli.Command {
	return &cli.Command{
		Name: "doctor", Usage: "list the toolchains and build backends, and whether this host has what they need",
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 0, 0); err != nil {
				return err
			}
			Doctor(c.Context, c.App.Writer, toolchains.Builtin(toolchains.Config{}))
			fmt.Fprintf(c.App.Writer, "-----> Sandbox\n       %s\n", sandbox.New(sandbox.Config{}).Probe())
			data := DataDir(c)
			if o.Platform != nil {
				data = o.Platform.DataDir()
			}
			doctorRuntimes(c.App.Writer, toolchains.RuntimesDir(data))
			doctorAddons(c.Context, c.App.Writer, data)
			if o.Platform != nil {
				doctorDomains(c.Context, c.App.Writer, o.Platform)
			}
			return nil
		},
	}
}

// Doctor writes one line per buildpack of bps: ready or missing, with the
// versions of the tools found or what to install.
func Doctor(ctx context.Context, w io.Writer, bps []buildpacks.Buildpack) {
	fmt.Fprintln(w, "-----> Toolchains on this host")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	ready := 0
	for _, bp := range bps {
		if be, ok := bp.(buildpacks.Backend); ok { // listed with the backends below
			if err := be.Available(ctx); err != nil {
				fmt.Fprintf(tw, "       %s\tmissing\t%s backend unavailable\n", bp.Name(), be.Backend())
				continue
			}
		}
		d, ok := bp.(buildpacks.Doctor)
		if !ok {
			fmt.Fprintf(tw, "       %s\tready\tnothing to install\n", bp.Name())
			ready++
			continue
		}
		check := d.Doctor(ctx)
		if check.Problem != "" {
			fmt.Fprintf(tw, "       %s\tmissing\t%s\n", bp.Name(), strings.Join(strings.Fields(check.Problem), " "))
			continue
		}
		tools := make([]string, len(check.Tools))
		for i, t := range check.Tools {
			tools[i] = fmt.Sprintf("%s %s (%s)", t.Name, t.Version, t.Path)
		}
		fmt.Fprintf(tw, "       %s\tready\t%s\n", bp.Name(), strings.Join(tools, ", "))
		ready++
	}
	tw.Flush()
	fmt.Fprintf(w, "       %d of %d toolchains ready; external buildpacks (.buildpacks, BUILDPACK_URL) run with the host's tools\n", ready, len(bps))
	fmt.Fprintln(w, "-----> Build backends")
	b := buildpacks.New(bps)
	checks := b.Check(ctx)
	for _, name := range b.Backends() {
		if err := checks[name]; err != nil {
			fmt.Fprintf(w, "       %-8s unavailable: %v\n", name, err)
		} else {
			fmt.Fprintf(w, "       %-8s ok\n", name)
		}
	}
}

// doctorRuntimes lists the runtimes nua provides from dir, in one line.
func doctorRuntimes(w io.Writer, dir string) {
	fmt.Fprintln(w, "-----> Runtimes nua provides (Node.js, npm, yarn, pnpm, Go toolchains)")
	rts, err := toolchains.ListRuntimes(dir)
	if err != nil {
		fmt.Fprintf(w, "       cannot read %s: %v\n", dir, err)
		return
	}
	if len(rts) == 0 {
		fmt.Fprintf(w, "       none yet in %s: fetched when an app asks for one the server lacks\n", dir)
		return
	}
	var names []string
	var total int64
	for _, r := range rts {
		names = append(names, r.Name+" "+r.Version)
		total += r.Size
	}
	fmt.Fprintf(w, "       %s: %s in %s (`runtimes` lists them)\n", strings.Join(names, ", "), human(total), dir)
}
