package commands

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/receiver"
	"github.com/urfave/cli/v2"
)

// HookCommands are the git hook commands: `hook pre-receive` on the Local
// door, run by git in the app's repository, passes the push on to the
// server's hidden `hook:pre-receive` on the Socket door.
func HookCommands(o Options) []*cli.Command {
	switch o.Door {
	case Local:
		return []*cli.Command{{
			Name: "hook", Hidden: true, Usage: "run by git during a push", ArgsUsage: "pre-receive",
			Action: func(c *cli.Context) error {
				if c.Args().First() != "pre-receive" {
					return usageError{"usage: nua hook pre-receive (git runs it)"}
				}
				repo, err := os.Getwd()
				if err != nil {
					return err
				}
				code, err := o.Forward(c, []string{
					"hook:pre-receive",
					"--repo", repo,
					"--object-dir", os.Getenv("GIT_OBJECT_DIRECTORY"),
					"--alternates", os.Getenv("GIT_ALTERNATE_OBJECT_DIRECTORIES"),
					"--push", os.Getenv("NUA_PUSH"),
				})
				if err != nil {
					return err
				}
				if code != 0 {
					return exitCode(code)
				}
				return nil
			},
		}}
	case Socket:
		return []*cli.Command{{
			Name: "hook:pre-receive", Hidden: true,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "repo"}, &cli.StringFlag{Name: "object-dir"},
				&cli.StringFlag{Name: "alternates"},
				// push names the push session; who pushes is the daemon's
				// to say (see the PushHook rule).
				&cli.StringFlag{Name: "push"},
			},
			Action: func(c *cli.Context) error {
				return preReceive(c.Context, c, o.Platform, caller(c, o), o.maxScale())
			},
		}}
	}
	return nil
}

func preReceive(ctx context.Context, c *cli.Context, p *nua.Platform, who nua.Identity, maxScale int) error {
	app, err := p.AppFromRepoDir(c.String("repo"))
	if err != nil {
		return err
	}
	ups, err := receiver.ParseUpdates(c.App.Reader)
	if err != nil {
		return err
	}
	push := nua.Push{
		App: app, By: who.User,
		Quarantine: nua.Quarantine{ObjectDir: c.String("object-dir"), Alternates: c.String("alternates")},
		MaxScale:   maxScale,
	}
	var refs []string
	for _, u := range ups {
		push.Updates = append(push.Updates, nua.RefUpdate(u))
		refs = append(refs, fmt.Sprintf("%s %.7s", u.Ref, u.New))
	}
	setDetail(c, strings.Join(refs, ", "))
	return p.Receive(ctx, push, c.App.Writer)
}
