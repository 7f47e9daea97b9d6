package commands

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nua-paas/nua"
)

// domainCommands are the app's custom hosts and their certificates.
func domainCommands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name: "domains", Usage: "list the hosts an app answers on", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				a, err := p.App(name)
				if err != nil {
					return err
				}
				w := c.App.Writer
				fmt.Fprintf(w, "=== %s domains\n", name)
				fmt.Fprintf(w, "%s (the app's own)\n", p.DefaultHost(name))
				for _, d := range a.Domains {
					fmt.Fprintln(w, d)
				}
				fmt.Fprintf(w, "Redirect HTTP to HTTPS: %s\n", map[bool]string{true: "off", false: "on"}[a.NoRedirect])
				return nil
			}),
		},
		{
			Name: "domains:add", Usage: "make an app answer on more hosts (*.example.org for every subdomain)", ArgsUsage: "APP HOST...",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 2, -1)
				if err != nil {
					return err
				}
				added, err := p.AddDomains(c.Context, name, c.Args().Tail(), caller(c, o))
				if err != nil {
					return err
				}
				if len(added) == 0 {
					fmt.Fprintf(c.App.Writer, "-----> %s answers on those hosts already\n", name)
					return nil
				}
				setDetail(c, strings.Join(added, " "))
				fmt.Fprintf(c.App.Writer, "-----> Added %s to %s\n", strings.Join(added, ", "), name)
				fmt.Fprintf(c.App.Writer, "       point their DNS at this server; `certs %s` shows their certificates\n", name)
				return nil
			}),
		},
		{
			Name: "domains:remove", Usage: "stop an app answering on a host", ArgsUsage: "APP HOST",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 2, 2)
				if err != nil {
					return err
				}
				if err := p.RemoveDomain(c.Context, name, c.Args().Get(1)); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Removed %s from %s\n", c.Args().Get(1), name)
				return nil
			}),
		},
		{
			Name: "domains:clear", Usage: "remove every custom host of an app (it keeps APP.DOMAIN)", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				old, err := p.ClearDomains(c.Context, name)
				if err != nil {
					return err
				}
				setDetail(c, strings.Join(old, " "))
				fmt.Fprintf(c.App.Writer, "-----> Cleared %d custom host(s) of %s\n", len(old), name)
				return nil
			}),
		},
		{
			Name: "domains:redirect", Usage: "redirect an app's HTTP requests to HTTPS once its certificates exist (on, the default) or not (off)", ArgsUsage: "APP on|off",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 2, 2)
				if err != nil {
					return err
				}
				arg := c.Args().Get(1)
				if arg != "on" && arg != "off" {
					return usageError{"usage: nua domains:redirect APP on|off"}
				}
				if err := p.SetRedirect(c.Context, name, arg == "on"); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Redirect of %s to HTTPS: %s\n", name, arg)
				return nil
			}),
		},
		{
			Name: "certs", Usage: "show the certificate of each host of an app: issued, pending or failed (with the CA's reason), issuer, expiry", ArgsUsage: "APP",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				certs, err := p.Certs(name)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "=== %s certificates\n", name)
				printCerts(c.App.Writer, certs)
				return nil
			}),
		},
		{
			Name: "certs:add", Usage: "serve an app's hosts with your certificate: a PEM bundle of the key and the chain on stdin", ArgsUsage: "APP < bundle.pem",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 1, 1)
				if err != nil {
					return err
				}
				bundle, err := io.ReadAll(io.LimitReader(c.App.Reader, nua.MaxBundle+1))
				if err != nil {
					return err
				}
				hosts, err := p.AddCert(c.Context, name, bundle)
				if err != nil {
					return err
				}
				setDetail(c, strings.Join(hosts, " "))
				fmt.Fprintf(c.App.Writer, "-----> Serving %s with the given certificate\n", strings.Join(hosts, ", "))
				return nil
			}),
		},
		{
			Name: "certs:remove", Usage: "drop the certificate given for a host: ACME's serves it again", ArgsUsage: "APP HOST",
			Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
				name, err := appArgs(c, 2, 2)
				if err != nil {
					return err
				}
				if err := p.RemoveCert(c.Context, name, c.Args().Get(1)); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "-----> Removed the given certificate of %s\n", c.Args().Get(1))
				return nil
			}),
		},
	}
}

// printCerts writes one line per host: state, issuer, expiry, reason.
func printCerts(w io.Writer, certs []nua.CertStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTATE\tISSUER\tEXPIRES\tREASON")
	for _, s := range certs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Host, s.State, or(s.Issuer, "-"), expires(s.NotAfter), or(s.Reason, "-"))
	}
	tw.Flush()
}

func expires(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 MST")
}

// certSummary is one line on the certificates of an app's hosts, for
// apps:info: each host with its state.
func certSummary(certs []nua.CertStatus) string {
	parts := make([]string, len(certs))
	for i, s := range certs {
		parts[i] = s.Host + " " + s.State
	}
	return strings.Join(parts, ", ")
}
