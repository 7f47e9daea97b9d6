package commands

import (
	"fmt"

	"github.com/nua-paas/nua"
	"github.com/urfave/cli/v2"
)

// Allow decides whether who may run the operation of command name on args
// through the HTTP API or the dashboard: by the command's own rule, the
// one the command tree checks, so each operation has one rule whatever
// door it comes through.
func Allow(p *nua.Platform, who nua.Identity, name string, args ...string) error {
	rule, ok := rules[name]
	if !ok {
		return forbidden("command %s has no authorisation rule: report this as a bug in nua", name)
	}
	return authorize(p, who, Web, name, rule, args)
}

// Audit records a change made through the HTTP API or the dashboard in the
// audit trail, as the command tree records its own: app is the app it
// changed ("" for none), detail what changed.
func Audit(p *nua.Platform, who nua.Identity, name, app, detail string, err error) {
	rule := rules[name]
	if !rule.Change {
		return
	}
	record(p, who, or(rule.Event, name), app, appExists(p, app), detail, err)
}

// Dashboard makes the one-time login links of the web dashboard.
type Dashboard interface {
	// LoginLink returns a link that starts a dashboard session for who,
	// valid once, for a few minutes.
	LoginLink(who nua.Identity) (string, error)
}

// dashboardCommands give the caller a link into the dashboard.
func dashboardCommands(o Options) []*cli.Command {
	return []*cli.Command{{
		Name: "dashboard", Usage: "print a one-time link that logs you in to the web dashboard (valid 5 minutes)",
		Action: daemon(o, func(c *cli.Context, p *nua.Platform) error {
			if err := wantArgs(c, 0, 0); err != nil {
				return err
			}
			if o.Dashboard == nil {
				return fmt.Errorf("this server runs no dashboard: start it without --dashboard off")
			}
			link, err := o.Dashboard.LoginLink(caller(c, o))
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "Open this link within 5 minutes to log in to the dashboard (it works once):\n%s\n", link)
			return nil
		}),
	}}
}

// Message is err as the command tree prints it, without the prefix of the
// sentinel it wraps, for the other doors to say the same.
func Message(err error) string { return message(err) }
