package runtime

import (
	"context"

	"github.com/nua-paas/nua"
)

// Scale brings the app's running instances of typ to n, starting or
// stopping only the difference: new web instances get traffic once they
// pass their checks; the route stops naming removed ones before they
// retire.
func (r *Runtime) Scale(ctx context.Context, app nua.App, rel nua.Release, typ string, n int) error {
	cur := r.instances(app.Name, typ)
	switch {
	case n > len(cur):
		env := r.processEnv(app, rel)
		var added []instance
		var err error
		if typ == "web" {
			added, err = r.startHealthy(ctx, app, rel, env, len(cur)+1, n)
		} else {
			added, err = r.startInstances(app, rel, env, typ, len(cur)+1, n)
		}
		if err != nil {
			return err
		}
		all := append(cur, added...)
		if typ == "web" {
			if err := r.route(ctx, app, all); err != nil {
				r.stopInstances(ctx, app.Name, added)
				return err
			}
		}
		r.replace(app.Name, typ, all)
	case n < len(cur):
		keep, drop := cur[:n], cur[n:]
		if typ == "web" {
			if err := r.route(ctx, app, keep); err != nil {
				return err
			}
		}
		r.replace(app.Name, typ, keep)
		r.retire(app.Name, drop)
	}
	return nil
}
