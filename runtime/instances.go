package runtime

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/procman"
)

// instance is a running process of an app and the release it runs.
type instance struct {
	proc    *procman.Process
	release int
}

// replace puts procs in place of the app's running instances of typ and
// returns those.
func (r *Runtime) replace(app, typ string, procs []instance) (old []instance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keep []instance
	for _, in := range r.running[app] {
		if in.proc.Spec().Type == typ {
			old = append(old, in)
		} else {
			keep = append(keep, in)
		}
	}
	r.running[app] = append(keep, procs...)
	return old
}

// instances returns the app's running instances of typ (all when typ is
// ""), in index order.
func (r *Runtime) instances(app, typ string) []instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []instance
	for _, in := range r.running[app] {
		if typ == "" || in.proc.Spec().Type == typ {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b instance) int {
		return strings.Compare(a.proc.Spec().Type, b.proc.Spec().Type)*1000 + a.proc.Spec().Index - b.proc.Spec().Index
	})
	return out
}

func (r *Runtime) runningTypes(app string) []string {
	var types []string
	for _, in := range r.instances(app, "") {
		if !slices.Contains(types, in.proc.Spec().Type) {
			types = append(types, in.proc.Spec().Type)
		}
	}
	return types
}

// retirement is old instances of an app being retired.
type retirement struct {
	now  chan struct{} // closed by retireNow: stop them at once
	done chan struct{} // closed once they are stopped
}

// retire stops old instances in the background, RetireDelay after the
// route stopped naming them: requests Traefik accepted just before the
// switch may still be on their way to them. The caller goes on; Close and
// retireNow stop them at once and wait.
func (r *Runtime) retire(app string, old []instance) {
	if len(old) == 0 {
		return
	}
	rt := &retirement{now: make(chan struct{}), done: make(chan struct{})}
	r.mu.Lock()
	r.retirees[app] = append(r.retirees[app], rt)
	r.mu.Unlock()
	r.retiring.Go(func() {
		defer close(rt.done)
		select {
		case <-time.After(r.cfg.RetireDelay):
		case <-r.closing:
		case <-rt.now:
		}
		r.stopInstances(context.Background(), app, old)
		r.mu.Lock()
		defer r.mu.Unlock()
		if rs := slices.DeleteFunc(r.retirees[app], func(x *retirement) bool { return x == rt }); len(rs) > 0 {
			r.retirees[app] = rs
		} else {
			delete(r.retirees, app)
		}
	})
}

// retireNow stops the app's retiring instances at once and waits until
// they are stopped.
func (r *Runtime) retireNow(app string) {
	r.mu.Lock()
	rs := r.retirees[app]
	delete(r.retirees, app)
	r.mu.Unlock()
	for _, rt := range rs {
		close(rt.now)
	}
	for _, rt := range rs {
		<-rt.done
	}
}

func (r *Runtime) takeRunning(app string) []instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	procs := r.running[app]
	delete(r.running, app)
	return procs
}

// stopInstances stops instances in parallel.
func (r *Runtime) stopInstances(ctx context.Context, app string, ins []instance) {
	ctx = context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(func() {
			if err := in.proc.Stop(ctx); err != nil {
				r.log.Warn("stop process", "app", app, "process", in.proc.Spec().Name(), "err", err)
			}
		})
	}
	wg.Wait()
}

// Stop stops every process of the app and removes its route.
func (r *Runtime) Stop(ctx context.Context, app string) error {
	if err := r.cfg.Router.RemoveRoute(ctx, app); err != nil {
		return err
	}
	r.stopInstances(ctx, app, r.takeRunning(app))
	return nil
}

// Remove stops every process of the app, retiring ones included, and
// removes its sandbox and its route.
func (r *Runtime) Remove(ctx context.Context, app nua.App) error {
	r.stopInstances(ctx, app.Name, r.takeRunning(app.Name))
	r.retireNow(app.Name) // their containers must be gone before their images
	r.sandbox(app).RemoveApp()
	return r.cfg.Router.RemoveRoute(ctx, app.Name)
}
