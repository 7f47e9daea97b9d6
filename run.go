package nua

import (
	"context"
	"fmt"
	"strings"
)

// Run runs a one-off process in the app's current slug with its config and
// returns its exit status. The formation is not touched; the process dies
// with ctx.
func (p *Platform) Run(ctx context.Context, req RunRequest) (int, error) {
	app, err := p.App(req.App)
	if err != nil {
		return 0, err
	}
	rel, err := p.runnable(app, "")
	if err != nil {
		return 0, err
	}
	if len(req.Command) == 0 {
		return 0, fmt.Errorf("%w: give the command to run, e.g. run %s ls -l", ErrInvalid, app.Name)
	}
	p.cfg.Monitor.Event(app.Name, "run", "run: "+clip(strings.Join(req.Command, " ")))
	return p.cfg.Runner.Run(ctx, app, rel, req)
}
