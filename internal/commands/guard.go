package commands

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/excerpt"
	"github.com/urfave/cli/v2"
)

// guardAll puts every command of cmds, and their subcommands, behind the
// check of its rule and the audit trail.
func guardAll(o Options, cmds []*cli.Command) {
	for _, cmd := range cmds {
		if cmd.Action != nil {
			cmd.Action = guard(o, cmd.Name, cmd.Action)
		}
		guardAll(o, cmd.Subcommands)
	}
}

// guard is the one place a command is authorised: it checks the caller
// against the command's rule before the action runs, and records a change
// (or a refused one) in the audit trail.
func guard(o Options, name string, action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		rule, ok := rules[name]
		if !ok {
			return forbidden("command %s has no authorisation rule: report this as a bug in nua", name)
		}
		if o.Door == Local { // runs here, or forwards to the socket, which checks it
			if rule.Who == PushHook {
				return forbidden("%s runs only in the daemon", name)
			}
			return action(c)
		}
		args := c.Args().Slice()
		who, app := o.Who, ""
		var err error
		if rule.Who == PushHook {
			who, app, err = pusher(o, c)
		} else {
			if rule.appRule() {
				app = c.Args().Get(rule.Arg)
			} else if rule.Addon {
				app = addonApp(o.Platform, c.Args().First())
			}
			err = authorize(o.Platform, who, o.Door, name, rule, args)
			if err == nil && rule.Addon {
				err = authorizeAddon(o.Platform, who, rule, c.Args().First())
			}
		}
		note := &auditNote{who: who, detail: defaultDetail(rule, args)}
		if rule.Detail != nil {
			note.detail = rule.Detail(c)
		}
		existed := appExists(o.Platform, app)
		if err == nil {
			c.Context = context.WithValue(c.Context, auditKey{}, note)
			err = action(c)
		}
		if rule.Change {
			record(o.Platform, who, or(rule.Event, name), app, existed, note.detail, err)
		}
		return err
	}
}

// authorize decides whether who may run the command name, whose rule is
// rule, with args, coming through door.
func authorize(p *nua.Platform, who nua.Identity, door Door, name string, rule Rule, args []string) error {
	arg := ""
	if rule.Arg < len(args) {
		arg = args[rule.Arg]
	}
	switch rule.Who {
	case Anyone:
		return nil
	case LocalOnly, PushHook:
		return forbidden("%s runs only on the server itself", name)
	case Admin:
		if who.Admin {
			return nil
		}
		return forbidden("%s is for admins: ask one to run it", name)
	case Self:
		if who.Admin || arg == "" || arg == who.User {
			return nil
		}
		return forbidden("you may manage your own keys only (%s): ask an admin to manage %s's", who.User, excerpt.Of(arg))
	case MemberIfGiven:
		if arg == "" {
			return nil
		}
	}
	if arg == "" { // the command reports its usage
		return nil
	}
	if err := nua.ValidateAppName(arg); err != nil {
		return err
	}
	if who.Admin {
		return nil
	}
	acc, err := p.Access(arg)
	switch {
	case errors.Is(err, nua.ErrNotFound) && rule.Who == MemberOrNew:
		return nil
	case errors.Is(err, nua.ErrNotFound):
		return noAccess(arg, who)
	case err != nil:
		return err
	case !acc.Member(who.User):
		return noAccess(arg, who)
	case rule.Who == Owner && !acc.Owns(who.User):
		return forbidden("only the owner of %s (%s) or an admin may run %s", arg, or(acc.Owner, "none"), name)
	}
	return nil
}

// noAccess refuses an app the caller may not act on, the same way whether
// it exists or not.
func noAccess(app string, who nua.Identity) error {
	return forbidden("you have no access to app %s: ask its owner or an admin to run `access:add %s %s`", app, app, who.User)
}

// pusher returns who pushes in the session the hook's --push token
// names, and the app of its --repo: the hook's caller never chooses.
func pusher(o Options, c *cli.Context) (nua.Identity, string, error) {
	if o.Door != Socket {
		return o.Who, "", forbidden("%s runs only in the daemon", c.Command.Name)
	}
	app, err := o.Platform.AppFromRepoDir(c.String("repo"))
	if err != nil {
		return o.Who, "", err
	}
	who, err := o.Platform.Pusher(c.String("push"), app)
	if err != nil {
		return o.Who, app, err
	}
	return who, app, nil
}

func appExists(p *nua.Platform, app string) bool {
	if app == "" || p == nil {
		return false
	}
	_, err := p.App(app)
	return err == nil
}

// record writes a change, or a refused one, to the audit trail: to the
// app's when the app existed before or exists after, else the server's.
func record(p *nua.Platform, who nua.Identity, action, app string, existed bool, detail string, err error) {
	e := nua.Event{
		Time: time.Now().UTC(), App: app, User: who.User, Key: who.Key, Door: who.Door,
		Action: action, Detail: printable(detail), Outcome: printable(outcome(err)),
	}
	p.Record(e, app != "" && (existed || appExists(p, app)))
}

// outcome is "ok" or the first line of err.
func outcome(err error) string {
	if err == nil {
		return nua.OutcomeOK
	}
	msg := message(err)
	var code exitCode
	if errors.As(err, &code) {
		msg = code.Error()
	}
	msg, _, _ = strings.Cut(msg, "\n")
	if errors.Is(err, nua.ErrForbidden) {
		msg = "refused: " + msg
	}
	return excerpt.Within(msg, 200)
}

// auditNote travels with a command the guard let run: who runs it, and
// what its event will say, which the command may refine.
type auditNote struct {
	who    nua.Identity
	detail string
}

type auditKey struct{}

// caller returns who runs the command of c.
func caller(c *cli.Context, o Options) nua.Identity {
	if n, ok := c.Context.Value(auditKey{}).(*auditNote); ok {
		return n.who
	}
	return o.Who
}

// setDetail sets what the event of the command of c will say.
func setDetail(c *cli.Context, detail string) {
	if n, ok := c.Context.Value(auditKey{}).(*auditNote); ok {
		n.detail = detail
	}
}

// printable replaces the control characters of s, which came from a
// command line, so that events print as one line and move no cursor.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}
