package runtime_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/proxy"
	"github.com/nua-paas/nua/runtime"
	"github.com/nua-paas/nua/runtime/sandbox"
)

// childEnv switches the test binary into one of the programs app
// processes run in these tests.
const childEnv = "NUA_RUNTIME_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "web": // answers its PS and release on $PORT
		l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "%s %s", os.Getenv("PS"), os.Getenv("NUA_RELEASE"))
		}))
	case "worker":
		select {}
	case "crash":
		fmt.Println("crashing on purpose")
		os.Exit(1)
	}
	os.Exit(2)
}

// child is the command line that runs the test binary as program mode.
func child(mode string) string {
	return childEnv + "=" + mode + " exec '" + os.Args[0] + "'"
}

// fakeRouter keeps the last route of each app.
type fakeRouter struct {
	setRoute func(r proxy.Route) error // nil: routes are set

	mu     sync.Mutex
	routes map[string][]string // app → servers
}

func (f *fakeRouter) SetRoute(ctx context.Context, r proxy.Route) error {
	if f.setRoute != nil {
		if err := f.setRoute(r); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[r.App] = r.Servers
	return nil
}

func (f *fakeRouter) RemoveRoute(ctx context.Context, app string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.routes, app)
	return nil
}

func (f *fakeRouter) servers(app string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.routes[app])
}

// fakeBuilder writes a marker file instead of building.
type fakeBuilder struct {
	build   func(src string) error // nil: builds work
	mu      sync.Mutex
	placed  []string
	removed []string
}

func (b *fakeBuilder) Build(ctx context.Context, src, cache string, env []string, sb *sandbox.Sandbox, w io.Writer) (buildpacks.Result, error) {
	if b.build != nil {
		if err := b.build(src); err != nil {
			return buildpacks.Result{}, err
		}
	}
	if err := os.WriteFile(filepath.Join(src, "built"), []byte(strings.Join(env, "\n")), 0o644); err != nil {
		return buildpacks.Result{}, err
	}
	return buildpacks.Result{Buildpack: "fake", Processes: map[string]string{"web": "bin/web"}}, nil
}

func (b *fakeBuilder) Place(ctx context.Context, res buildpacks.Result, slug string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.placed = append(b.placed, filepath.Base(slug))
	return nil
}

func (b *fakeBuilder) Remove(ctx context.Context, slug string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.removed = append(b.removed, filepath.Base(slug))
	return nil
}

func (b *fakeBuilder) WrapOneOff(slug string, argv []string) []string { return argv }

func (b *fakeBuilder) Contained(slug string) bool { return false }

func (b *fakeBuilder) LimitCommand(slug, typ, cmd string, l sandbox.Limits) string { return cmd }

type rig struct {
	rt      *runtime.Runtime
	data    string
	router  *fakeRouter
	builder *fakeBuilder
}

func newRig(t *testing.T) *rig {
	t.Helper()
	procs := procman.New(procman.Config{LogDir: t.TempDir(), StopTimeout: 5 * time.Second})
	t.Cleanup(func() { procs.Close(context.Background()) })
	r := &rig{data: t.TempDir(), router: &fakeRouter{routes: map[string][]string{}}, builder: &fakeBuilder{}}
	cfg := runtime.Config{
		DataDir: r.data, Domain: "example.test", Builder: r.builder, Procs: procs, Router: r.router,
		BootTimeout: 10 * time.Second, RetireDelay: time.Millisecond,
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r.rt = runtime.New(cfg)
	t.Cleanup(func() { r.rt.Close(context.Background()) })
	return r
}

// release makes slug v of app shop (an empty dir) and a release of it.
func (r *rig) release(t *testing.T, v int, procs map[string]string) nua.Release {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(r.data, "apps", "shop", "releases", fmt.Sprintf("v%d", v)), 0o700); err != nil {
		t.Fatal(err)
	}
	return nua.Release{App: "shop", Version: v, Slug: v, Processes: procs, Config: map[string]string{"GREETING": "hi"}}
}

// ps returns "web.1 v1 up" for each running instance.
func (r *rig) ps() []string {
	var out []string
	for _, s := range r.rt.Ps("shop") {
		out = append(out, fmt.Sprintf("%s v%d", s.Name, s.Release))
	}
	return out
}

// pids returns the pid of each running instance by name.
func (r *rig) pids() map[string]int {
	m := map[string]int{}
	for _, s := range r.rt.Ps("shop") {
		m[s.Name] = s.PID
	}
	return m
}

// get fetches url and returns its body.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var webWorker = map[string]string{"web": child("web"), "worker": child("worker"), "release": "true"}

// TestLaunchAndScale launches a release, then scales web up and down:
// only the difference starts or stops, and the route follows.
func TestLaunchAndScale(t *testing.T) {
	r := newRig(t)
	app := nua.App{Name: "shop", Formation: map[string]int{"web": 2}}
	rel := r.release(t, 1, webWorker)
	if err := r.rt.Launch(t.Context(), app, rel, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := r.ps(), []string{"web.1 v1", "web.2 v1", "worker.1 v1"}; !slices.Equal(got, want) {
		t.Fatalf("ps %q, want %q", got, want)
	}
	servers := r.router.servers("shop")
	if len(servers) != 2 {
		t.Fatalf("route servers %q, want the 2 web instances", servers)
	}
	if got, want := get(t, servers[1]), "web.2 v1"; got != want {
		t.Fatalf("second server answers %q, want %q", got, want)
	}
	before := r.pids()

	if err := r.rt.Scale(t.Context(), app, rel, "web", 3); err != nil {
		t.Fatal(err)
	}
	after := r.pids()
	for _, name := range []string{"web.1", "web.2", "worker.1"} {
		if after[name] != before[name] {
			t.Errorf("scaling up restarted %s (pid %d, then %d)", name, before[name], after[name])
		}
	}
	if got := r.router.servers("shop"); len(got) != 3 || !slices.Equal(got[:2], servers) {
		t.Errorf("route servers %q after scaling to 3, want %q plus one", got, servers)
	}

	if err := r.rt.Scale(t.Context(), app, rel, "web", 1); err != nil {
		t.Fatal(err)
	}
	if got, want := r.ps(), []string{"web.1 v1", "worker.1 v1"}; !slices.Equal(got, want) {
		t.Errorf("ps %q after scaling to 1, want %q", got, want)
	}
	if got := r.pids()["web.1"]; got != before["web.1"] {
		t.Errorf("scaling down restarted web.1 (pid %d, then %d)", before["web.1"], got)
	}
	if got := r.router.servers("shop"); !slices.Equal(got, servers[:1]) {
		t.Errorf("route servers %q after scaling to 1, want %q", got, servers[:1])
	}
}

// TestLaunchReplaces launches v2 over v1: new instances, new route, the
// old ones retired.
func TestLaunchReplaces(t *testing.T) {
	r := newRig(t)
	app := nua.App{Name: "shop"}
	if err := r.rt.Launch(t.Context(), app, r.release(t, 1, webWorker), ""); err != nil {
		t.Fatal(err)
	}
	old := r.pids()
	v2 := r.release(t, 2, map[string]string{"web": child("web")}) // no worker any more
	if err := r.rt.Launch(t.Context(), app, v2, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := r.ps(), []string{"web.1 v2"}; !slices.Equal(got, want) {
		t.Fatalf("ps %q, want %q", got, want)
	}
	if r.pids()["web.1"] == old["web.1"] {
		t.Error("web.1 of v2 has the pid of v1's")
	}
	if got, want := get(t, r.router.servers("shop")[0]), "web.1 v2"; got != want {
		t.Errorf("route answers %q, want %q", got, want)
	}
}

// TestLaunchFailureKeepsOld: new web instances that crash, or a route
// that cannot be set, leave the old instances serving.
func TestLaunchFailureKeepsOld(t *testing.T) {
	tests := []struct {
		name   string
		web    string
		router func(proxy.Route) error
		errHas string
	}{
		{name: "web crashes", web: child("crash"), errHas: "web.1 exited"},
		{name: "route fails", web: child("web"), router: func(proxy.Route) error { return fmt.Errorf("proxy down") }, errHas: "proxy down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			app := nua.App{Name: "shop"}
			if err := r.rt.Launch(t.Context(), app, r.release(t, 1, webWorker), ""); err != nil {
				t.Fatal(err)
			}
			old, servers := r.pids(), r.router.servers("shop")
			r.router.setRoute = tt.router
			err := r.rt.Launch(t.Context(), app, r.release(t, 2, map[string]string{"web": tt.web}), "")
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("launch error %v, want one saying %q", err, tt.errHas)
			}
			if got, want := r.ps(), []string{"web.1 v1", "worker.1 v1"}; !slices.Equal(got, want) {
				t.Errorf("ps %q, want %q", got, want)
			}
			if got := r.pids(); got["web.1"] != old["web.1"] {
				t.Errorf("web.1 of v1 was replaced: pid %d, then %d", old["web.1"], got["web.1"])
			}
			if got := r.router.servers("shop"); !slices.Equal(got, servers) {
				t.Errorf("route %q, want v1's %q", got, servers)
			}
			if got, want := get(t, servers[0]), "web.1 v1"; got != want {
				t.Errorf("v1 answers %q, want %q", got, want)
			}
		})
	}
}

func TestStopAndRemove(t *testing.T) {
	r := newRig(t)
	app := nua.App{Name: "shop"}
	if err := r.rt.Launch(t.Context(), app, r.release(t, 1, webWorker), ""); err != nil {
		t.Fatal(err)
	}
	if err := r.rt.Stop(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	if got := r.ps(); len(got) != 0 {
		t.Errorf("ps after stop %q, want nothing", got)
	}
	if got := r.router.servers("shop"); got != nil {
		t.Errorf("route after stop %q, want none", got)
	}
	if err := r.rt.Launch(t.Context(), app, r.release(t, 1, webWorker), ""); err != nil {
		t.Fatal(err)
	}
	if err := r.rt.Remove(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	if got := r.ps(); len(got) != 0 {
		t.Errorf("ps after remove %q, want nothing", got)
	}
}

func TestReleasePhaseAndRun(t *testing.T) {
	r := newRig(t)
	app := nua.App{Name: "shop"}
	rel := r.release(t, 3, webWorker)
	var out strings.Builder
	if err := r.rt.ReleasePhase(t.Context(), app, rel, `echo "$PS $NUA_RELEASE $GREETING $NUA_APP"`, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "release.1 v3 hi shop\n"; got != want {
		t.Errorf("release phase printed %q, want %q", got, want)
	}
	if err := r.rt.ReleasePhase(t.Context(), app, rel, "exit 7", io.Discard); err == nil {
		t.Error("a release phase that exits 7 passed")
	}

	out.Reset()
	code, err := r.rt.Run(t.Context(), app, rel, nua.RunRequest{
		Command: []string{"sh", "-c", `read line; echo "$PS got $line"; exit 3`},
		Stdin:   strings.NewReader("input\n"), Stdout: &out, Stderr: io.Discard,
	})
	if err != nil || code != 3 {
		t.Fatalf("Run = %d, %v; want exit status 3", code, err)
	}
	if got, want := out.String(), "run.1 got input\n"; got != want {
		t.Errorf("run printed %q, want %q", got, want)
	}
	if _, err := r.rt.Run(t.Context(), app, rel, nua.RunRequest{Command: []string{"no-such-program"}}); err == nil {
		t.Error("running a missing program worked")
	}
}

func TestBuildKeepsSlugs(t *testing.T) {
	r := newRig(t)
	app := nua.App{Name: "shop", Config: map[string]string{"A": "1"}}
	fill := func(dir string) error { return os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: x\n"), 0o644) }
	for v := 1; v <= 3; v++ {
		slug, err := r.rt.Build(t.Context(), app, v, fill, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if slug.Buildpack != "fake" || slug.Processes["web"] != "bin/web" {
			t.Fatalf("slug %+v, want the fake builder's", slug)
		}
	}
	for v := 1; v <= 3; v++ {
		if !r.rt.HasSlug("shop", v) {
			t.Fatalf("slug %d not kept", v)
		}
	}
	built, err := os.ReadFile(filepath.Join(r.data, "apps", "shop", "releases", "v2", "built"))
	if err != nil || string(built) != "A=1" {
		t.Errorf("slug v2 built with env %q (%v), want the app's config", built, err)
	}
	if got, want := r.builder.placed, []string{"v1", "v2", "v3"}; !slices.Equal(got, want) {
		t.Errorf("placed %q, want %q", got, want)
	}

	// A failed fill or build keeps nothing.
	fillErr := fmt.Errorf("no such commit")
	if _, err := r.rt.Build(t.Context(), app, 4, func(string) error { return fillErr }, io.Discard); err != fillErr {
		t.Errorf("Build with a failing fill: %v, want its error as it is", err)
	}
	r.builder.build = func(string) error { return fmt.Errorf("compile error") }
	if _, err := r.rt.Build(t.Context(), app, 4, fill, io.Discard); err == nil || !strings.Contains(err.Error(), "compile error") {
		t.Errorf("failing build: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(r.data, "apps", "shop", "releases"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"v1", "v2", "v3"}; !slices.Equal(names, want) {
		t.Errorf("slug dir holds %q after failed builds, want %q", names, want)
	}

	r.rt.RemoveSlugs("shop", func(v int) bool { return v != 2 })
	if r.rt.HasSlug("shop", 2) || !r.rt.HasSlug("shop", 1) || !r.rt.HasSlug("shop", 3) {
		t.Error("RemoveSlugs removed other slugs than v2")
	}
	r.rt.RemoveSlugs("shop", nil)
	if _, err := os.Stat(filepath.Join(r.data, "apps", "shop", "releases")); !os.IsNotExist(err) {
		t.Errorf("slugs dir left after removing all: %v", err)
	}
	if !slices.Contains(r.builder.removed, "v1") || !slices.Contains(r.builder.removed, "v3") {
		t.Errorf("builder told of removals %q, want v1 and v3 among them", r.builder.removed)
	}
}
