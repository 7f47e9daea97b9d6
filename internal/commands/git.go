package commands

import (
	"context"
	"errors"
	"fmt"
	"os/exec"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/excerpt"
)

// Git serves a git-receive-pack (push) or git-upload-pack (clone, fetch)
// session on the SSH door, after the check every command passes: the
// rule of the service, with the app the repository path names. A push to
// an app that does not exist makes it, owned by the pusher. It returns
// the session's exit status.
func Git(ctx context.Context, o Options, service, repo string, s nua.Stdio) int {
	err := git(ctx, o, service, repo, s)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &exit):
		return exit.ExitCode() // git has told the client why
	default:
		fmt.Fprintf(s.Stderr, " !     %s\n", message(err))
		return ExitError
	}
}

func git(ctx context.Context, o Options, service, repo string, s nua.Stdio) error {
	rule, ok := rules[service]
	if !ok {
		return fmt.Errorf("%w: git service %q", nua.ErrInvalid, excerpt.Of(service))
	}
	app, err := nua.AppFromRepo(repo)
	if err != nil {
		return err
	}
	p := o.Platform
	if err := authorize(p, o.Who, o.Door, service, rule, []string{app}); err != nil {
		if rule.Change {
			record(p, o.Who, or(rule.Event, service), app, appExists(p, app), "", err)
		}
		return err
	}
	if service == "git-receive-pack" && !appExists(p, app) {
		if err := createByPush(o, app); err != nil {
			return err
		}
	}
	return p.Git(ctx, service, app, o.Who, s)
}

// createByPush makes the app a first push goes to, owned by the pusher,
// and records it as apps:create does. When another session made it
// meanwhile, the pusher must be one of its members.
func createByPush(o Options, app string) error {
	_, err := o.Platform.CreateApp(app, o.Who.Owner())
	if errors.Is(err, nua.ErrExists) {
		return authorize(o.Platform, o.Who, o.Door, "git-receive-pack", rules["git-receive-pack"], []string{app})
	}
	record(o.Platform, o.Who, "apps:create", app, false, "by a push", err)
	return err
}
