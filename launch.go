package nua

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/proxy"
)

// instance is a running process of an app and the release it runs.
type instance struct {
	proc    *procman.Process
	release int
}

// ProcessStatus is one running instance as `ps` shows it.
type ProcessStatus struct {
	procman.Status
	Release int
}

// launch starts rel's processes of type only (every type when only is ""),
// web first: new web instances must listen and pass their checks, then the
// route switches to them and the old ones retire; then the other types are
// replaced. When new web instances fail they are stopped and the old ones
// keep serving.
func (p *Platform) launch(ctx context.Context, app App, rel Release, only string) error {
	env := p.processEnv(app, rel)
	if only == "" || only == "web" {
		var webs []instance
		if _, ok := rel.Processes["web"]; ok {
			var err error
			if webs, err = p.startHealthy(ctx, app, rel, env, 1, app.Scale("web")); err != nil {
				return err
			}
		}
		if err := p.route(ctx, app.Name, webs); err != nil {
			p.stopInstances(ctx, app.Name, webs)
			return err
		}
		if len(webs) > 0 {
			p.cfg.Procs.Event(app.Name, "deploy", fmt.Sprintf("switched traffic to %d web instance(s) of v%d", len(webs), rel.Version))
		}
		p.retire(app.Name, p.replace(app.Name, "web", webs))
	}
	for _, typ := range slices.Sorted(maps.Keys(rel.Processes)) {
		if typ == "web" || typ == "release" || (only != "" && only != typ) {
			continue
		}
		procs, err := p.startInstances(app, rel, env, typ, 1, app.Scale(typ))
		if err != nil {
			return err
		}
		p.retire(app.Name, p.replace(app.Name, typ, procs))
	}
	if only == "" { // types the new release no longer has
		for _, typ := range p.runningTypes(app.Name) {
			if _, ok := rel.Processes[typ]; !ok {
				p.retire(app.Name, p.replace(app.Name, typ, nil))
			}
		}
	}
	return nil
}

// startInstances starts instances from..to of typ.
func (p *Platform) startInstances(app App, rel Release, env []string, typ string, from, to int) ([]instance, error) {
	var started []instance
	for i := from; i <= to; i++ {
		spec := procman.Spec{
			App: app.Name, Type: typ, Index: i, Command: rel.Processes[typ],
			Dir: p.slugDir(app.Name, rel.Slug), Env: env,
			Sandbox: p.slugSandbox(app, rel.Slug), Limits: p.limits(app, typ),
		}
		if typ == "web" {
			port, err := freePort()
			if err != nil {
				p.stopInstances(context.Background(), app.Name, started)
				return nil, err
			}
			spec.Port = port
		}
		proc, err := p.cfg.Procs.Start(spec)
		if err != nil {
			p.stopInstances(context.Background(), app.Name, started)
			return nil, fmt.Errorf("start %s: %w", spec.Name(), err)
		}
		started = append(started, instance{proc: proc, release: rel.Version})
	}
	return started, nil
}

// startHealthy starts web instances from..to and waits until each passes
// its checks. On failure it stops them and returns why, with their last
// log lines.
func (p *Platform) startHealthy(ctx context.Context, app App, rel Release, env []string, from, to int) ([]instance, error) {
	webs, err := p.startInstances(app, rel, env, "web", from, to)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(webs))
	var wg sync.WaitGroup
	for i, w := range webs {
		wg.Go(func() { errs[i] = p.waitHealthy(ctx, w.proc, rel.Healthchecks["web"]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tail := p.logTail(app.Name, "web")
			p.stopInstances(ctx, app.Name, webs)
			if tail != "" {
				err = fmt.Errorf("%w\nlast lines of the new web logs:\n%s", err, tail)
			}
			return nil, err
		}
	}
	return webs, nil
}

// waitHealthy waits until proc listens on its port, then runs checks. It
// fails as soon as proc exits, or after the boot timeout.
func (p *Platform) waitHealthy(ctx context.Context, proc *procman.Process, checks []Healthcheck) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.BootTimeout)
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
		return fmt.Errorf("%s did not listen on PORT %d within %s (%w): make the web process bind $PORT", proc.Spec().Name(), proc.Spec().Port, p.cfg.BootTimeout, err)
	}
	for _, h := range checks {
		if err := p.check(ctx, proc, addr, h); err != nil {
			return err
		}
	}
	return nil
}

// check runs one health check against proc: up to h.attempts() GETs of
// h.Path, each answered 2xx or 3xx within h.timeout().
func (p *Platform) check(ctx context.Context, proc *procman.Process, addr string, h Healthcheck) error {
	client := &http.Client{
		Timeout:       h.timeout(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var last string
	for i := 0; i < h.attempts(); i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("health check %s of %s: %w", h.Path, proc.Spec().Name(), ctx.Err())
			case <-time.After(h.wait()):
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
	return fmt.Errorf("health check GET %s of %s failed %d times, last: %s", h.Path, proc.Spec().Name(), h.attempts(), last)
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
func (p *Platform) route(ctx context.Context, app string, webs []instance) error {
	if len(webs) == 0 {
		return p.cfg.Proxy.RemoveRoute(ctx, app)
	}
	r := proxy.Route{App: app, Hosts: []string{app + "." + p.cfg.Domain}}
	for _, w := range webs {
		r.Servers = append(r.Servers, "http://127.0.0.1:"+strconv.Itoa(w.proc.Spec().Port))
	}
	if err := p.cfg.Proxy.SetRoute(ctx, r); err != nil {
		return fmt.Errorf("route %s: %w", app, err)
	}
	return nil
}

// replace puts procs in place of the app's running instances of typ and
// returns those.
func (p *Platform) replace(app, typ string, procs []instance) (old []instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var keep []instance
	for _, in := range p.running[app] {
		if in.proc.Spec().Type == typ {
			old = append(old, in)
		} else {
			keep = append(keep, in)
		}
	}
	p.running[app] = append(keep, procs...)
	return old
}

// instances returns the app's running instances of typ (all when typ is
// ""), in index order.
func (p *Platform) instances(app, typ string) []instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []instance
	for _, in := range p.running[app] {
		if typ == "" || in.proc.Spec().Type == typ {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b instance) int {
		return strings.Compare(a.proc.Spec().Type, b.proc.Spec().Type)*1000 + a.proc.Spec().Index - b.proc.Spec().Index
	})
	return out
}

func (p *Platform) runningTypes(app string) []string {
	var types []string
	for _, in := range p.instances(app, "") {
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
func (p *Platform) retire(app string, old []instance) {
	if len(old) == 0 {
		return
	}
	r := &retirement{now: make(chan struct{}), done: make(chan struct{})}
	p.mu.Lock()
	p.retirees[app] = append(p.retirees[app], r)
	p.mu.Unlock()
	p.retiring.Go(func() {
		defer close(r.done)
		select {
		case <-time.After(p.cfg.RetireDelay):
		case <-p.closing:
		case <-r.now:
		}
		p.stopInstances(context.Background(), app, old)
		p.mu.Lock()
		defer p.mu.Unlock()
		if rs := slices.DeleteFunc(p.retirees[app], func(x *retirement) bool { return x == r }); len(rs) > 0 {
			p.retirees[app] = rs
		} else {
			delete(p.retirees, app)
		}
	})
}

// retireNow stops the app's retiring instances at once and waits until
// they are stopped.
func (p *Platform) retireNow(app string) {
	p.mu.Lock()
	rs := p.retirees[app]
	delete(p.retirees, app)
	p.mu.Unlock()
	for _, r := range rs {
		close(r.now)
	}
	for _, r := range rs {
		<-r.done
	}
}

func (p *Platform) takeRunning(app string) []instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	procs := p.running[app]
	delete(p.running, app)
	return procs
}

// stopInstances stops instances in parallel.
func (p *Platform) stopInstances(ctx context.Context, app string, ins []instance) {
	ctx = context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(func() {
			if err := in.proc.Stop(ctx); err != nil {
				p.log.Warn("stop process", "app", app, "process", in.proc.Spec().Name(), "err", err)
			}
		})
	}
	wg.Wait()
}

// logTail returns the last log lines of the app's processes of typ.
func (p *Platform) logTail(app, typ string) string {
	var b bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.cfg.Procs.Logs(ctx, app, procman.LogOptions{Lines: 10, Type: typ}, &b)
	return strings.TrimRight(b.String(), "\n")
}
