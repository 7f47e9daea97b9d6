// Package runtime is the one way an app's code runs: its builds, its web
// and worker instances, its release phase and its one-off commands all
// start here, in the app's sandbox (its own uid, cgroup limits, a scrubbed
// environment). It keeps the running instances of every app, launches new
// releases with no downtime, scales process types and keeps the slugs
// releases run. The root package drives it through its Builder, Runner and
// Monitor interfaces.
package runtime

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/proxy"
	"github.com/nua-paas/nua/runtime/sandbox"
)

// Builder builds source trees in place and knows where each buildpack
// runs its slugs. *buildpacks.Builder implements it.
type Builder interface {
	// Build builds the source in dir src in place with cache as the app's
	// build cache and env as its config, in sandbox sb, writing the build
	// output to w.
	Build(ctx context.Context, src, cache string, env []string, sb *sandbox.Sandbox, w io.Writer) (buildpacks.Result, error)
	// Place tells the buildpack that built res that its slug is now in
	// dir slug.
	Place(ctx context.Context, res buildpacks.Result, slug string) error
	// Remove frees what slug holds outside its directory (store paths,
	// images) before it is deleted.
	Remove(ctx context.Context, slug string) error
	// WrapOneOff returns the command line that runs the one-off command
	// argv for slug: argv unless its buildpack runs slugs elsewhere.
	WrapOneOff(slug string, argv []string) []string
	// Contained reports whether slug's processes run in containers.
	Contained(slug string) bool
	// LimitCommand returns the command that runs process type typ of
	// slug, whose command is cmd, within limits l (containers take their
	// limits on their command line).
	LimitCommand(slug, typ, cmd string, l sandbox.Limits) string
}

// Router points an app's host names at its web instances. *proxy.Traefik
// implements it.
type Router interface {
	// SetRoute creates or replaces the app's route; it returns once the
	// proxy serves it.
	SetRoute(ctx context.Context, r proxy.Route) error
	// RemoveRoute removes the app's route, if it has one.
	RemoveRoute(ctx context.Context, app string) error
}

var (
	_ Builder = (*buildpacks.Builder)(nil)
	_ Router  = (*proxy.Traefik)(nil)

	_ nua.Builder = (*Runtime)(nil)
	_ nua.Runner  = (*Runtime)(nil)
	_ nua.Monitor = (*Runtime)(nil)
)

// Config wires a Runtime to its parts.
type Config struct {
	// DataDir holds the apps' slugs (apps/APP/releases/vN), data dirs
	// (apps/APP/data) and build caches (cache/APP).
	DataDir string
	// Domain is the domain apps answer under, as APP.Domain.
	Domain string
	// BinDir holds the nua binary; processes find it on their PATH.
	BinDir string
	// Builder builds slugs; Procs supervises instances and keeps their
	// logs; Router routes web traffic to them. All three are required.
	Builder Builder
	Procs   *procman.Supervisor
	Router  Router
	// Sandbox confines each app's processes and builds; nil runs them
	// unconfined.
	Sandbox *sandbox.Manager
	// BootTimeout bounds how long new web instances may take to listen
	// and pass their checks; default 60s.
	BootTimeout time.Duration
	// InDaemon, if set, returns the server that runs the web command cmd
	// of the slug in dir slug inside the daemon rather than as a process
	// of its own (a static site's), or nil.
	InDaemon func(slug, cmd string) procman.Server
	// RetireDelay is how long old instances keep running after the route
	// switched away from them; default 2s.
	RetireDelay time.Duration
	Logger      *slog.Logger
}

// Validate names the first missing part of c.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("runtime config: DataDir is required")
	case c.Builder == nil:
		return errors.New("runtime config: Builder is required")
	case c.Procs == nil:
		return errors.New("runtime config: Procs is required")
	case c.Router == nil:
		return errors.New("runtime config: Router is required")
	}
	return nil
}

// Runtime runs apps' code and keeps each app's running instances.
type Runtime struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	running map[string][]instance // per app
	// retiring tracks old instances being stopped after a switch;
	// retirees lists them per app, for Remove.
	retiring  sync.WaitGroup
	retirees  map[string][]*retirement
	closing   chan struct{} // closed by Close: retire now
	closeOnce sync.Once
}

// New returns a Runtime for cfg; it does no I/O.
func New(cfg Config) *Runtime {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BootTimeout == 0 {
		cfg.BootTimeout = 60 * time.Second
	}
	if cfg.RetireDelay == 0 {
		cfg.RetireDelay = 2 * time.Second
	}
	return &Runtime{
		cfg:      cfg,
		log:      cfg.Logger,
		running:  map[string][]instance{},
		retirees: map[string][]*retirement{},
		closing:  make(chan struct{}),
	}
}

// Close stops every app's processes, retiring ones included.
func (r *Runtime) Close(ctx context.Context) error {
	r.closeOnce.Do(func() { close(r.closing) })
	r.mu.Lock()
	names := make([]string, 0, len(r.running))
	for name := range r.running {
		names = append(names, name)
	}
	r.mu.Unlock()
	for _, name := range names {
		r.stopInstances(ctx, name, r.takeRunning(name))
	}
	r.retiring.Wait()
	return nil
}

func (r *Runtime) appDir(app string) string { return filepath.Join(r.cfg.DataDir, "apps", app) }

// Slugs returns the slug dirs of every app's kept releases under the data
// dir data.
func Slugs(data string) ([]string, error) {
	return filepath.Glob(filepath.Join(data, "apps", "*", "releases", "v[0-9]*"))
}

func (r *Runtime) slugsDir(app string) string { return filepath.Join(r.appDir(app), "releases") }
func (r *Runtime) slugDir(app string, v int) string {
	return filepath.Join(r.slugsDir(app), "v"+strconv.Itoa(v))
}
func (r *Runtime) cacheDir(app string) string { return filepath.Join(r.cfg.DataDir, "cache", app) }

// sandbox returns the app's sandbox: nil when nua runs without one.
func (r *Runtime) sandbox(app nua.App) *sandbox.Sandbox {
	if r.cfg.Sandbox == nil {
		return nil
	}
	return r.cfg.Sandbox.For(app.Name, r.cfg.Sandbox.UID(app.UID))
}

// slugSandbox returns the sandbox the processes of the app's slug v run
// in: the app's, but none for a slug whose processes run in containers,
// which the engine confines (the host runs only nua's engine client).
func (r *Runtime) slugSandbox(app nua.App, v int) *sandbox.Sandbox {
	if r.cfg.Sandbox == nil || r.cfg.Builder.Contained(r.slugDir(app.Name, v)) {
		return nil
	}
	return r.sandbox(app)
}

// Sandboxed reports whether apps run confined, with one line saying how.
func (r *Runtime) Sandboxed() (bool, string) {
	if r.cfg.Sandbox == nil {
		return false, "apps are NOT sandboxed"
	}
	return r.cfg.Sandbox.Enabled(), r.cfg.Sandbox.Status()
}

// Limits returns the limits each instance of the app's process type typ
// runs with.
func (r *Runtime) Limits(app nua.App, typ string) nua.Limits {
	l := r.limits(app, typ)
	return nua.Limits{Memory: l.Memory, CPU: l.CPU, Tasks: l.Tasks}
}

// limits returns the sandbox limits of each instance of typ: the
// defaults, with what resources:set chose over them.
func (r *Runtime) limits(app nua.App, typ string) sandbox.Limits {
	d := sandbox.DefaultProcess
	l := nua.Limits{Memory: d.Memory, CPU: d.CPU, Tasks: d.Tasks}.With(app.Resources[typ])
	return sandbox.Limits{Memory: l.Memory, CPU: l.CPU, Tasks: l.Tasks}
}

// processEnv is the environment of rel's processes: the platform's
// variables, then the release's config.
func (r *Runtime) processEnv(app nua.App, rel nua.Release) []string {
	slug := r.slugDir(app.Name, rel.Slug)
	data := filepath.Join(r.appDir(app.Name), "data")
	if err := r.sandbox(app).Own(data); err != nil {
		r.log.Warn("data dir", "app", app.Name, "err", err)
	}
	env := []string{
		"PATH=" + strings.Join([]string{filepath.Join(slug, "bin"), r.cfg.BinDir, os.Getenv("PATH")}, string(os.PathListSeparator)),
		"HOME=" + slug,
		"LANG=C.UTF-8",
		"NUA_APP=" + app.Name,
		"NUA_RELEASE=v" + strconv.Itoa(rel.Version),
		"NUA_DATA_DIR=" + data,
	}
	return append(env, envList(rel.Config)...)
}

// Ps returns the app's running instances in type and index order.
func (r *Runtime) Ps(app string) []nua.ProcessStatus {
	var out []nua.ProcessStatus
	for _, in := range r.instances(app, "") {
		st := in.proc.Status()
		out = append(out, nua.ProcessStatus{
			Name: st.Name, State: string(st.State), PID: st.PID, Port: st.Port,
			Restarts: st.Restarts, Since: st.Since, ExitErr: st.ExitErr,
			OOMKills: st.OOMKills, Memory: st.Memory, CPU: st.CPU, Release: in.release,
		})
	}
	return out
}

// Logs writes the app's logs to w.
func (r *Runtime) Logs(ctx context.Context, app string, opt nua.LogOptions, w io.Writer) error {
	return r.cfg.Procs.Logs(ctx, app, procman.LogOptions{Lines: opt.Lines, Follow: opt.Follow, Type: opt.Type}, w)
}

// Event records something nua did to the app in its logs.
func (r *Runtime) Event(app, source, msg string) { r.cfg.Procs.Event(app, source, msg) }

// Output returns a writer into the app's logs as process name's output.
func (r *Runtime) Output(app, name string) (io.WriteCloser, error) {
	return r.cfg.Procs.Output(app, name)
}

// logTail returns the last log lines of the app's processes of typ.
func (r *Runtime) logTail(app, typ string) string {
	var b strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.cfg.Procs.Logs(ctx, app, procman.LogOptions{Lines: 10, Type: typ}, &b)
	return strings.TrimRight(b.String(), "\n")
}

// envList turns config into KEY=value lines, sorted by key.
func envList(config map[string]string) []string {
	env := make([]string, 0, len(config))
	for _, k := range slices.Sorted(maps.Keys(config)) {
		env = append(env, k+"="+config[k])
	}
	return env
}
