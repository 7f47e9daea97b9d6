package nua

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/proxy"
)

// DeployRequest asks for a pushed commit to be built and released.
type DeployRequest struct {
	App    string
	Commit string
	By     string
	// Source writes the commit's tree into an empty directory.
	Source func(dir string) error
}

// Deploy builds the commit, runs its release phase, starts its processes
// and, once the new web instances listen, points the route at them and stops
// the old ones. Build output goes to out. On any failure the previous
// release keeps running and the error wraps ErrDeploy.
func (p *Platform) Deploy(ctx context.Context, req DeployRequest, out io.Writer) error {
	app, unlock, err := p.lockedApp(req.App)
	if err != nil {
		return err
	}
	defer unlock()
	start := time.Now()
	o := buildpacks.NewOutput(out)
	o.Step("Building %s (%s)", app.Name, short(req.Commit))
	if err := os.MkdirAll(p.slugsDir(app.Name), 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(p.slugsDir(app.Name), ".build-")
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	if err := req.Source(dir); err != nil {
		return fmt.Errorf("%w: %w", ErrDeploy, err)
	}
	res, err := p.cfg.Builder.Build(ctx, dir, p.cacheDir(app.Name), envList(app.Config), out)
	if err != nil {
		return fmt.Errorf("%w: build: %w", ErrDeploy, err)
	}
	v, err := p.nextVersion(app.Name)
	if err != nil {
		return err
	}
	slug := p.slugDir(app.Name, v)
	os.RemoveAll(slug) // a leftover of a deploy that failed after its build
	if err := os.Rename(dir, slug); err != nil {
		return err
	}
	dir = slug
	rel := Release{
		App: app.Name, Version: v, Slug: v, Commit: req.Commit, Buildpack: res.Buildpack,
		Processes: res.Processes, Config: maps.Clone(app.Config), By: req.By,
		Description: "Deploy " + short(req.Commit), Created: time.Now().UTC(),
	}
	if err := p.release(ctx, app, rel, o); err != nil {
		return err
	}
	keep = true
	o.Step("Launched in %.1fs", time.Since(start).Seconds())
	o.Info("Released v%d", v)
	o.Info("%s deployed to nua", p.URL(app.Name))
	p.prune(app.Name)
	return nil
}

// release runs rel's release phase, launches it and records it as current.
func (p *Platform) release(ctx context.Context, app App, rel Release, o *buildpacks.Output) error {
	if cmd, ok := rel.Processes["release"]; ok {
		o.Step("Running release command: %s", cmd)
		if err := p.runOnce(ctx, app, rel, cmd, o.Indent()); err != nil {
			return fmt.Errorf("%w: release command: %w", ErrDeploy, err)
		}
	}
	o.Step("Launching...")
	if err := p.launch(ctx, app, rel); err != nil {
		return fmt.Errorf("%w: %w", ErrDeploy, err)
	}
	if err := p.cfg.Store.PutRelease(rel); err != nil {
		return err
	}
	app.Release = rel.Version
	app.Config = rel.Config
	if err := p.cfg.Store.PutApp(app); err != nil {
		return err
	}
	p.cfg.Procs.Event(app.Name, "deploy", fmt.Sprintf("released v%d: %s", rel.Version, rel.Description))
	return nil
}

// SetConfig changes the app's config and, if it runs, restarts it on a new
// release with no downtime. unset names keys to remove.
func (p *Platform) SetConfig(ctx context.Context, name string, set map[string]string, unset []string, by string, out io.Writer) error {
	for _, k := range unset {
		if err := ValidateConfigKey(k); err != nil {
			return err
		}
	}
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return err
	}
	defer unlock()
	config := withVars(app.Config, set, unset)
	desc := describeChange(set, unset)
	o := buildpacks.NewOutput(out)
	if app.Release == 0 {
		app.Config = config
		o.Step("%s (applies from the first deploy)", desc)
		return p.cfg.Store.PutApp(app)
	}
	cur, err := p.currentRelease(app)
	if err != nil {
		return err
	}
	v, err := p.nextVersion(name)
	if err != nil {
		return err
	}
	rel := cur
	rel.Version, rel.Config, rel.By, rel.Created = v, config, by, time.Now().UTC()
	rel.Description = desc
	o.Step("%s and restarting %s", desc, name)
	if err := p.release(ctx, app, rel, o); err != nil {
		return err
	}
	o.Info("Released v%d", v)
	return nil
}

func describeChange(set map[string]string, unset []string) string {
	if len(set) > 0 {
		return "Set " + strings.Join(slices.Sorted(maps.Keys(set)), ", ") + " config vars"
	}
	return "Unset " + strings.Join(unset, ", ") + " config vars"
}

// Restart replaces every process of the app with a fresh one, web first.
func (p *Platform) Restart(ctx context.Context, name string) error {
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return err
	}
	defer unlock()
	if app.Release == 0 {
		return fmt.Errorf("app %s has not been deployed yet: push to it first", name)
	}
	rel, err := p.currentRelease(app)
	if err != nil {
		return err
	}
	return p.launch(ctx, app, rel)
}

// Restore starts the current release of every app, as after a daemon restart.
func (p *Platform) Restore(ctx context.Context) error {
	apps, err := p.cfg.Store.Apps()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, app := range apps {
		if app.Release == 0 {
			continue
		}
		wg.Go(func() {
			if err := p.Restart(ctx, app.Name); err != nil {
				p.log.Error("restore app", "app", app.Name, "err", err)
			}
		})
	}
	wg.Wait()
	return nil
}

// launch starts rel's processes, waits for its web instances to listen,
// switches the route to them and stops the app's previous processes. When
// the new web instances fail, they are stopped and the old ones keep serving.
func (p *Platform) launch(ctx context.Context, app App, rel Release) error {
	env := p.processEnv(app, rel)
	var started, webs []*procman.Process
	fail := func(err error) error {
		tail := p.logTail(app.Name)
		p.stopRunning(context.WithoutCancel(ctx), app.Name, started)
		if tail != "" {
			err = fmt.Errorf("%w\nlast log lines:\n%s", err, tail)
		}
		return err
	}
	for _, typ := range slices.Sorted(maps.Keys(rel.Processes)) {
		for i := 1; i <= app.Scale(typ); i++ {
			spec := procman.Spec{
				App: app.Name, Type: typ, Index: i, Command: rel.Processes[typ],
				Dir: p.slugDir(app.Name, rel.Slug), Env: env,
			}
			if typ == "web" {
				port, err := freePort()
				if err != nil {
					return fail(err)
				}
				spec.Port = port
			}
			proc, err := p.cfg.Procs.Start(spec)
			if err != nil {
				return fail(fmt.Errorf("start %s: %w", spec.Name(), err))
			}
			started = append(started, proc)
			if typ == "web" {
				webs = append(webs, proc)
			}
		}
	}
	for _, w := range webs {
		if err := p.waitListening(ctx, w); err != nil {
			return fail(err)
		}
	}
	if err := p.route(ctx, app.Name, webs); err != nil {
		return fail(err)
	}
	p.mu.Lock()
	old := p.running[app.Name]
	p.running[app.Name] = started
	p.mu.Unlock()
	// The route no longer names the old instances: let them finish their
	// requests and exit while the pusher goes on. Close waits for them.
	p.retiring.Go(func() { p.stopRunning(context.WithoutCancel(ctx), app.Name, old) })
	return nil
}

// route points the app's route at webs, or removes it when there are none.
func (p *Platform) route(ctx context.Context, app string, webs []*procman.Process) error {
	if len(webs) == 0 {
		return p.cfg.Proxy.RemoveRoute(ctx, app)
	}
	r := proxy.Route{App: app, Hosts: []string{app + "." + p.cfg.Domain}}
	for _, w := range webs {
		r.Servers = append(r.Servers, "http://127.0.0.1:"+strconv.Itoa(w.Spec().Port))
	}
	if err := p.cfg.Proxy.SetRoute(ctx, r); err != nil {
		return fmt.Errorf("route %s: %w", app, err)
	}
	return nil
}

// waitListening waits until w accepts connections on its port. It fails as
// soon as w exits, or after the boot timeout.
func (p *Platform) waitListening(ctx context.Context, w *procman.Process) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.BootTimeout)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(w.Spec().Port))
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		st := w.Status()
		if st.Restarts > 0 || st.State == procman.StateCrashed {
			msg := "exited"
			if st.ExitErr != "" {
				msg = "exited: " + st.ExitErr
			}
			return fmt.Errorf("%s %s before listening on PORT %d", st.Name, msg, st.Port)
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not listen on PORT %d within %s: make the web process bind $PORT", st.Name, st.Port, p.cfg.BootTimeout)
		case <-tick.C:
		}
	}
}

// logTail returns the app's last log lines, for a failed deploy's message.
func (p *Platform) logTail(app string) string {
	var b bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.cfg.Procs.Logs(ctx, app, procman.LogOptions{Lines: 10}, &b)
	return strings.TrimRight(b.String(), "\n")
}

func (p *Platform) takeRunning(app string) []*procman.Process {
	p.mu.Lock()
	defer p.mu.Unlock()
	procs := p.running[app]
	delete(p.running, app)
	return procs
}

// stopRunning stops procs in parallel.
func (p *Platform) stopRunning(ctx context.Context, app string, procs []*procman.Process) {
	var wg sync.WaitGroup
	for _, pr := range procs {
		wg.Go(func() {
			if err := pr.Stop(ctx); err != nil {
				p.log.Warn("stop process", "app", app, "process", pr.Spec().Name(), "err", err)
			}
		})
	}
	wg.Wait()
}

// processEnv is the environment of rel's processes: the platform's
// variables, then the release's config.
func (p *Platform) processEnv(app App, rel Release) []string {
	slug := p.slugDir(app.Name, rel.Slug)
	data := filepath.Join(p.appDir(app.Name), "data")
	os.MkdirAll(data, 0o755)
	env := []string{
		"PATH=" + strings.Join([]string{filepath.Join(slug, "bin"), p.cfg.BinDir, os.Getenv("PATH")}, string(os.PathListSeparator)),
		"HOME=" + slug,
		"LANG=C.UTF-8",
		"NUA_APP=" + app.Name,
		"NUA_RELEASE=v" + strconv.Itoa(rel.Version),
		"NUA_DATA_DIR=" + data,
	}
	return append(env, envList(rel.Config)...)
}

// runOnce runs cmd in rel's slug with its environment, as the release phase.
func (p *Platform) runOnce(ctx context.Context, app App, rel Release, cmd string, out io.Writer) error {
	c := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	c.Dir = p.slugDir(app.Name, rel.Slug)
	c.Env = append(p.processEnv(app, rel), "PS=release.1")
	c.Stdout, c.Stderr = out, out
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	return c.Run()
}

// prune removes built slugs that none of the last KeepSlugs releases use.
func (p *Platform) prune(app string) {
	rels, err := p.cfg.Store.Releases(app)
	if err != nil {
		return
	}
	keep := map[string]bool{}
	for _, r := range rels[max(0, len(rels)-p.cfg.KeepSlugs):] {
		keep[fmt.Sprintf("v%d", r.Slug)] = true
	}
	entries, _ := os.ReadDir(p.slugsDir(app))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "v") && !keep[e.Name()] {
			os.RemoveAll(filepath.Join(p.slugsDir(app), e.Name()))
		}
	}
}

func envList(config map[string]string) []string {
	env := make([]string, 0, len(config))
	for _, k := range slices.Sorted(maps.Keys(config)) {
		env = append(env, k+"="+config[k])
	}
	return env
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

func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}
