package runtime

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/runtime/sandbox"
)

// Launch starts rel's processes of type only (every type when only is ""),
// web first: new web instances must listen and pass their checks, then the
// route switches to them and the old ones retire; then the other types are
// replaced. When new web instances fail they are stopped and the old ones
// keep serving.
func (r *Runtime) Launch(ctx context.Context, app nua.App, rel nua.Release, only string) error {
	env := r.processEnv(app, rel)
	if only == "" || only == "web" {
		var webs []instance
		start := time.Now()
		if _, ok := rel.Processes["web"]; ok {
			var err error
			if webs, err = r.startHealthy(ctx, app, rel, env, 1, app.Scale("web")); err != nil {
				return err
			}
		}
		healthy := time.Since(start)
		if err := r.route(ctx, app, webs); err != nil {
			r.stopInstances(ctx, app.Name, webs)
			return err
		}
		if len(webs) > 0 {
			r.cfg.Procs.Event(app.Name, "deploy", fmt.Sprintf("switched traffic to %d web instance(s) of v%d", len(webs), rel.Version))
			r.log.Info("web switched", "app", app.Name, "release", rel.Version,
				"healthy", healthy.Round(time.Millisecond), "routed", (time.Since(start) - healthy).Round(time.Millisecond))
		}
		r.retire(app.Name, r.replace(app.Name, "web", webs))
	}
	for _, typ := range slices.Sorted(maps.Keys(rel.Processes)) {
		if typ == "web" || typ == "release" || (only != "" && only != typ) {
			continue
		}
		procs, err := r.startInstances(app, rel, env, typ, 1, app.Scale(typ))
		if err != nil {
			return err
		}
		r.retire(app.Name, r.replace(app.Name, typ, procs))
	}
	if only == "" { // types the new release no longer has
		for _, typ := range r.runningTypes(app.Name) {
			if _, ok := rel.Processes[typ]; !ok {
				r.retire(app.Name, r.replace(app.Name, typ, nil))
			}
		}
	}
	return nil
}

// startInstances starts instances from..to of typ.
func (r *Runtime) startInstances(app nua.App, rel nua.Release, env []string, typ string, from, to int) ([]instance, error) {
	var started []instance
	for i := from; i <= to; i++ {
		slug, limits := r.slugDir(app.Name, rel.Slug), r.limits(app, typ)
		spec := procman.Spec{
			App: app.Name, Type: typ, Index: i, Command: r.cfg.Builder.LimitCommand(slug, typ, rel.Processes[typ], limits),
			Dir: slug, Env: env, Sandbox: r.slugSandbox(app, rel.Slug), Limits: limits,
		}
		if typ == "web" {
			port, err := freePort()
			if err != nil {
				r.stopInstances(context.Background(), app.Name, started)
				return nil, err
			}
			spec.Port = port
			if r.cfg.InDaemon != nil {
				if spec.Server = r.cfg.InDaemon(slug, rel.Processes[typ]); spec.Server != nil {
					spec.Command, spec.Sandbox, spec.Limits = rel.Processes[typ], nil, sandbox.Limits{}
				}
			}
		}
		proc, err := r.cfg.Procs.Start(spec)
		if err != nil {
			r.stopInstances(context.Background(), app.Name, started)
			return nil, fmt.Errorf("start %s: %w", spec.Name(), err)
		}
		started = append(started, instance{proc: proc, release: rel.Version})
	}
	return started, nil
}

// startHealthy starts web instances from..to and waits until each passes
// its checks. On failure it stops them and returns why, with their last
// log lines.
func (r *Runtime) startHealthy(ctx context.Context, app nua.App, rel nua.Release, env []string, from, to int) ([]instance, error) {
	webs, err := r.startInstances(app, rel, env, "web", from, to)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(webs))
	var wg sync.WaitGroup
	bind := "make the web process bind $PORT"
	if r.cfg.Builder.Contained(r.slugDir(app.Name, rel.Slug)) {
		// The engine forwards to the container's own interface: a process
		// on 127.0.0.1 inside is out of its reach.
		bind = "inside its container the web process must listen on 0.0.0.0:$PORT (all interfaces), not 127.0.0.1 or localhost"
	}
	for i, w := range webs {
		wg.Go(func() { errs[i] = r.waitHealthy(ctx, w.proc, rel.Healthchecks["web"], bind) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tail := r.logTail(app.Name, "web")
			r.stopInstances(ctx, app.Name, webs)
			if tail != "" {
				err = fmt.Errorf("%w\nlast lines of the new web logs:\n%s", err, tail)
			}
			return nil, err
		}
	}
	return webs, nil
}

// waitHealthy waits until proc listens on its port, then runs checks. It
// fails as soon as proc exits, or after the boot timeout, saying what to
// do with hint.
func (r *Runtime) waitHealthy(ctx context.Context, proc *procman.Process, checks []nua.Healthcheck, hint string) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.BootTimeout)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(proc.Spec().Port))
	if err := poll(ctx, 10*time.Millisecond, func() (bool, error) {
		if err := exited(proc); err != nil {
			return false, err
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("%s did not listen on PORT %d within %s (%w): %s", proc.Spec().Name(), proc.Spec().Port, r.cfg.BootTimeout, err, hint)
	}
	for _, h := range checks {
		if err := r.check(ctx, proc, addr, h); err != nil {
			return err
		}
	}
	return nil
}

// check runs one health check against proc: up to h.Attempts GETs of
// h.Path, each answered 2xx or 3xx within h.Timeout seconds.
func (r *Runtime) check(ctx context.Context, proc *procman.Process, addr string, h nua.Healthcheck) error {
	h = h.WithDefaults()
	client := &http.Client{
		Timeout:       time.Duration(h.Timeout) * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var last string
	for i := 0; i < h.Attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("health check %s of %s: %w", h.Path, proc.Spec().Name(), ctx.Err())
			case <-time.After(time.Duration(h.Wait) * time.Second):
			}
		}
		if err := exited(proc); err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+h.Path, nil)
		resp, err := client.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			return nil
		}
		last = resp.Status
	}
	return fmt.Errorf("health check GET %s of %s failed %d times, last: %s", h.Path, proc.Spec().Name(), h.Attempts, last)
}

// exited reports a process that stopped or crashed since it started.
func exited(proc *procman.Process) error {
	st := proc.Status()
	if st.Restarts == 0 && st.State != procman.StateCrashed && st.State != procman.StateStopped {
		return nil
	}
	if st.ExitErr != "" {
		return fmt.Errorf("%s exited: %s", st.Name, st.ExitErr)
	}
	return fmt.Errorf("%s exited", st.Name)
}

// poll calls cond every interval until it holds, fails, or ctx ends.
func poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, err := cond()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// route points the app's route at webs, or removes it when there are none.
func (r *Runtime) route(ctx context.Context, app nua.App, webs []instance) error {
	if len(webs) == 0 {
		return r.cfg.Router.RemoveRoute(ctx, app.Name)
	}
	route := routeOf(app, r.cfg.Domain)
	for _, w := range webs {
		route.Servers = append(route.Servers, "http://127.0.0.1:"+strconv.Itoa(w.proc.Spec().Port))
	}
	if err := r.cfg.Router.SetRoute(ctx, route); err != nil {
		return fmt.Errorf("route %s: %w", app.Name, err)
	}
	return nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
