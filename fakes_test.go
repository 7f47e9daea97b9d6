package nua_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/store"
)

// errKnob is what a broken step of a fake returns.
var errKnob = errors.New("broken by the test")

// fakeBuilder builds nothing: it runs fill in a fresh directory, then
// keeps a slug of the processes of procs. Set build to break a build.
type fakeBuilder struct {
	t     testing.TB
	procs map[string]string
	build func(app nua.App, v int) error // nil: builds succeed

	mu    sync.Mutex
	slugs map[string][]int // kept slug numbers per app
}

func (b *fakeBuilder) Build(ctx context.Context, app nua.App, v int, fill func(dir string) error, out io.Writer) (nua.Slug, error) {
	if err := fill(b.t.TempDir()); err != nil {
		return nua.Slug{}, err
	}
	if b.build != nil {
		if err := b.build(app, v); err != nil {
			return nua.Slug{}, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.slugs[app.Name] = append(b.slugs[app.Name], v)
	return nua.Slug{Buildpack: "fake", Processes: maps.Clone(b.procs)}, nil
}

func (b *fakeBuilder) HasSlug(app string, v int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Contains(b.slugs[app], v)
}

func (b *fakeBuilder) RemoveSlugs(app string, keep func(v int) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.slugs[app] = slices.DeleteFunc(b.slugs[app], func(v int) bool { return keep == nil || !keep(v) })
}

// kept returns the app's kept slug numbers.
func (b *fakeBuilder) kept(app string) []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(slices.Values(b.slugs[app]))
}

// group is the running instances of one process type in fakeRunner.
type group struct {
	Release int // the release they run
	N       int // how many
}

// fakeRunner keeps, per app and process type, which release runs and how
// many instances, the way the runtime would. Its function fields break a
// step: a failed step changes nothing.
type fakeRunner struct {
	launch       func(app nua.App, rel nua.Release, typ string) error
	scale        func(typ string, n int) error
	releasePhase func(rel nua.Release, cmd string) error
	run          func(req nua.RunRequest) (int, error) // nil: exit 0

	mu      sync.Mutex
	running map[string]map[string]group // app → type → instances
	calls   []string                    // "launch app v2 web", "scale app web=3" ...
	events  []string
	outputs map[string]*bytes.Buffer // "app/cron.1" → what was written
}

func (r *fakeRunner) record(format string, a ...any) {
	r.calls = append(r.calls, fmt.Sprintf(format, a...))
}

func (r *fakeRunner) Launch(ctx context.Context, app nua.App, rel nua.Release, typ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record("launch %s v%d %s", app.Name, rel.Version, typ)
	if r.launch != nil {
		if err := r.launch(app, rel, typ); err != nil {
			return err
		}
	}
	run := r.running[app.Name]
	if run == nil {
		run = map[string]group{}
		r.running[app.Name] = run
	}
	for t := range rel.Processes {
		if (typ == "" || typ == t) && t != "release" {
			run[t] = group{Release: rel.Version, N: app.Scale(t)}
		}
	}
	if typ == "" {
		for t := range run {
			if _, ok := rel.Processes[t]; !ok {
				delete(run, t)
			}
		}
	}
	return nil
}

func (r *fakeRunner) Scale(ctx context.Context, app nua.App, rel nua.Release, typ string, n int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record("scale %s %s=%d", app.Name, typ, n)
	if r.scale != nil {
		if err := r.scale(typ, n); err != nil {
			return err
		}
	}
	if r.running[app.Name] == nil {
		r.running[app.Name] = map[string]group{}
	}
	r.running[app.Name][typ] = group{Release: rel.Version, N: n}
	return nil
}

func (r *fakeRunner) Stop(ctx context.Context, app string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record("stop %s", app)
	delete(r.running, app)
	return nil
}

func (r *fakeRunner) ReleasePhase(ctx context.Context, app nua.App, rel nua.Release, cmd string, out io.Writer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record("release-phase %s v%d", app.Name, rel.Version)
	if r.releasePhase != nil {
		return r.releasePhase(rel, cmd)
	}
	return nil
}

func (r *fakeRunner) Run(ctx context.Context, app nua.App, rel nua.Release, req nua.RunRequest) (int, error) {
	r.mu.Lock()
	r.record("run %s v%d %q", app.Name, rel.Version, req.Command)
	run := r.run
	r.mu.Unlock()
	if run != nil {
		return run(req)
	}
	return 0, nil
}

func (r *fakeRunner) Output(app, name string) (io.WriteCloser, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outputs == nil {
		r.outputs = map[string]*bytes.Buffer{}
	}
	b := r.outputs[app+"/"+name]
	if b == nil {
		b = &bytes.Buffer{}
		r.outputs[app+"/"+name] = b
	}
	return nopCloser{&lockedWriter{&r.mu, b}}, nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (r *fakeRunner) Remove(ctx context.Context, app nua.App) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record("remove %s", app.Name)
	delete(r.running, app.Name)
	return nil
}

func (r *fakeRunner) Close(ctx context.Context) error { return nil }

func (r *fakeRunner) Ps(app string) []nua.ProcessStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	var st []nua.ProcessStatus
	for _, typ := range slices.Sorted(maps.Keys(r.running[app])) {
		g := r.running[app][typ]
		for i := 1; i <= g.N; i++ {
			st = append(st, nua.ProcessStatus{Name: fmt.Sprintf("%s.%d", typ, i), State: "up", Release: g.Release})
		}
	}
	return st
}

func (r *fakeRunner) Logs(ctx context.Context, app string, opt nua.LogOptions, w io.Writer) error {
	return nil
}

func (r *fakeRunner) Event(app, source, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, source+": "+msg)
}

func (r *fakeRunner) Limits(app nua.App, typ string) nua.Limits {
	l := nua.Limits{Memory: 512 << 20, CPU: 1, Tasks: 256}
	if set, ok := app.Resources[typ]; ok {
		l = set // the fake takes them whole
	}
	return l
}

func (r *fakeRunner) Sandboxed() (bool, string) { return true, "fake sandbox" }

// state returns what runs of the app: type → instances.
func (r *fakeRunner) state(app string) map[string]group {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.running[app])
}

// takeCalls returns the calls so far and forgets them.
func (r *fakeRunner) takeCalls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// fakeRepos keeps which repositories exist. Set receive to act as a
// push's hook.
type fakeRepos struct {
	mu      sync.Mutex
	repos   map[string]string // app → branch
	receive func(app string, env []string) error
}

func (f *fakeRepos) Init(app, branch string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.repos[app]; !ok {
		f.repos[app] = branch
	}
	return nil
}

func (f *fakeRepos) Remove(app string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.repos, app)
	return nil
}

func (f *fakeRepos) SetHead(app, branch string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repos[app] = branch
	return nil
}

func (f *fakeRepos) Repo(app string) string { return "/repos/" + app + ".git" }

func (f *fakeRepos) ReceivePack(ctx context.Context, app string, env []string, s nua.Stdio) error {
	if f.receive != nil {
		return f.receive(app, env)
	}
	return nil
}

func (f *fakeRepos) UploadPack(ctx context.Context, app string, s nua.Stdio) error { return nil }

func (f *fakeRepos) Export(ctx context.Context, app, commit string, q nua.Quarantine, dst string) error {
	return nil
}

// rig is a Platform on fakes, with the real store in a temp dir.
type rig struct {
	p       *nua.Platform
	store   *store.DB
	builder *fakeBuilder
	runner  *fakeRunner
	repos   *fakeRepos
	notices *recorder
	addons  *fakeAddons
}

// webWorker are the process types of the apps the rigs build.
var webWorker = map[string]string{"web": "bin/web", "worker": "bin/worker"}

func newRig(t testing.TB, keepSlugs int) *rig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "nua.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &rig{
		store:   db,
		builder: &fakeBuilder{t: t, procs: webWorker, slugs: map[string][]int{}},
		runner:  &fakeRunner{running: map[string]map[string]group{}},
		repos:   &fakeRepos{repos: map[string]string{}},
		notices: &recorder{},
		addons:  &fakeAddons{made: map[string]string{}},
	}
	r.p = nua.New(nua.Config{
		DataDir: t.TempDir(), Domain: "example.test", Store: db,
		Builder: r.builder, Runner: r.runner, Monitor: r.runner, Repos: r.repos,
		KeepSlugs: keepSlugs, Notifier: r.notices, Addons: r.addons, DashboardHost: "dash.example.org",
	})
	return r
}

// deploy pushes a commit whose tree holds files.
func (r *rig) deploy(t testing.TB, app, commit string, files map[string]string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := r.p.Deploy(context.Background(), nua.DeployRequest{
		App: app, Commit: commit, By: "tester",
		Source: func(dir string) error {
			for name, body := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					return err
				}
			}
			return nil
		},
	}, &out)
	return out.String(), err
}

// mustDeploy deploys and fails the test if that fails.
func (r *rig) mustDeploy(t testing.TB, app, commit string) {
	t.Helper()
	if out, err := r.deploy(t, app, commit, nil); err != nil {
		t.Fatalf("deploy %s: %v\n%s", commit, err, out)
	}
}

// mustApp creates app.
func (r *rig) mustApp(t testing.TB, name string) {
	t.Helper()
	if _, err := r.p.CreateApp(name, nua.AdminUser); err != nil {
		t.Fatal(err)
	}
}

// app reads the app's record.
func (r *rig) app(t testing.TB, name string) nua.App {
	t.Helper()
	a, err := r.p.App(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// releases returns the app's releases as "v1 succeeded slug=1" lines.
func (r *rig) releases(t testing.TB, name string) []string {
	t.Helper()
	rels, err := r.p.Releases(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rel := range rels {
		out = append(out, fmt.Sprintf("v%d %s slug=%d", rel.Version, rel.Status, rel.Slug))
	}
	return out
}

// release returns release v of the app.
func (r *rig) release(t testing.TB, name string, v int) nua.Release {
	t.Helper()
	rels, err := r.p.Releases(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range rels {
		if rel.Version == v {
			return rel
		}
	}
	t.Fatalf("%s has no release v%d", name, v)
	return nua.Release{}
}

// all runs every process type of webWorker at release v, n instances each.
func all(v, web, worker int) map[string]group {
	return map[string]group{"web": {Release: v, N: web}, "worker": {Release: v, N: worker}}
}

// recorder is a nua.Notifier that keeps what it is asked to send, the
// channel's name with each notice; it fails for a channel named "down".
type recorder struct {
	mu   sync.Mutex
	sent []string
}

func (r *recorder) Send(_ context.Context, n nua.Notification, notice nua.Notice) error {
	if n.Name == "down" {
		return errors.New("connection refused")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, fmt.Sprintf("%s %s %s ok=%t: %s", n.Name, notice.Event, notice.App, notice.OK, notice.Text))
	return nil
}

// got returns what was sent so far.
func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

// fakeAddons keeps the addons it made as name → kind, the way the addon
// servers would. Set provision to break a provision.
type fakeAddons struct {
	provision func(kind, name string) error

	mu   sync.Mutex
	made map[string]string
}

func (f *fakeAddons) Provision(ctx context.Context, kind, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.provision != nil {
		if err := f.provision(kind, name); err != nil {
			return "", err
		}
	}
	f.made[name] = kind
	return kind + "://" + name + ":secret@127.0.0.1/" + name, nil
}

func (f *fakeAddons) Deprovision(ctx context.Context, kind, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.made, name)
	return nil
}

func (f *fakeAddons) Info(ctx context.Context, a nua.Addon) ([][2]string, error) {
	return [][2]string{{"Data Size", "1 kB"}}, nil
}

func (f *fakeAddons) Client(a nua.Addon) ([]string, map[string]string, error) {
	return []string{a.Kind + "-client"}, map[string]string{"SECRET": "secret"}, nil
}

// names returns the names of the addons that exist.
func (f *fakeAddons) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.made))
}
