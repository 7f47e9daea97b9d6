package nua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/nua-paas/nua/internal/buildout"
	"github.com/nua-paas/nua/internal/diskuse"
)

// Config wires a Platform to its parts.
type Config struct {
	DataDir  string
	Domain   string // apps answer on APP.Domain
	HTTPPort int    // the proxy's public port, for the URLs shown to users
	Store    Store
	// Builder builds pushed source into slugs and keeps them.
	Builder Builder
	// Runner runs releases' processes; Monitor tells what they do.
	Runner  Runner
	Monitor Monitor
	// Repos holds the apps' git repositories.
	Repos Repos
	// Addons runs the servers behind addons; nil: none.
	Addons AddonService
	// KeepSlugs is how many built slugs are kept for each app.
	KeepSlugs int
	// MinFree is the disk space a build needs on the data dir's file
	// system, in bytes (0: DefaultMinFree).
	MinFree int64
	// DashboardHost is the host of the dashboard, which no app may take;
	// "" when it is off.
	DashboardHost string
	// Notifier delivers notices to the channels `notifications` lists;
	// nil sends none.
	Notifier Notifier
	Logger   *slog.Logger

	// HTTPSPort is the proxy's public HTTPS port, 0 when it serves none.
	HTTPSPort int
}

// ReservedApp is the name no app may take: the dashboard's route and
// host (nua.DOMAIN) are under it.
const ReservedApp = "nua"

// Platform runs apps: it builds pushes, records releases and keeps each
// app's current release running behind the proxy.
type Platform struct {
	cfg Config
	log *slog.Logger

	uidMu   sync.Mutex // held while an app gets its uid
	addonMu sync.Mutex // held while addons are read and changed, after an app's lock
	mu      sync.Mutex
	locks   map[string]*sync.Mutex // per app: one deploy, config change or restart at a time

	pushes pushes // git pushes in progress, for their hooks
	crons  crons  // the cron scheduler's state

	alerts     alerts        // what the crash-loop and disk notices remember
	deliveries chan struct{} // one token per notice delivery under way
	delivering sync.WaitGroup

	domainMu sync.Mutex // held while an app claims hosts
}

// New returns a Platform for cfg.
func New(cfg Config) *Platform {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.KeepSlugs == 0 {
		cfg.KeepSlugs = 5
	}
	return &Platform{cfg: cfg, log: cfg.Logger, locks: map[string]*sync.Mutex{}, deliveries: make(chan struct{}, maxDeliveries)}
}

// lockApp serialises changes to one app and returns the unlock function.
func (p *Platform) lockApp(name string) func() {
	l := p.appMutex(name)
	l.Lock()
	return l.Unlock
}

// appMutex is the app's lock.
func (p *Platform) appMutex(name string) *sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.locks[name]
	if !ok {
		l = &sync.Mutex{}
		p.locks[name] = l
	}
	return l
}

// lockedApp validates name, takes the app's lock and reads the app under
// it. The caller calls unlock when err is nil.
func (p *Platform) lockedApp(name string) (app App, unlock func(), err error) {
	if err := ValidateAppName(name); err != nil {
		return App{}, nil, err
	}
	unlock = p.lockApp(name)
	if app, err = p.cfg.Store.App(name); err != nil {
		unlock()
		return App{}, nil, err
	}
	return app, unlock, nil
}

// URL is where app answers.
func (p *Platform) URL(app string) string {
	if p.cfg.HTTPPort == 80 || p.cfg.HTTPPort == 0 {
		return fmt.Sprintf("http://%s.%s/", app, p.cfg.Domain)
	}
	return fmt.Sprintf("http://%s.%s:%d/", app, p.cfg.Domain, p.cfg.HTTPPort)
}

// DataDir is the dir nua keeps everything in.
func (p *Platform) DataDir() string { return p.cfg.DataDir }

func (p *Platform) cacheDir(app string) string { return filepath.Join(p.cfg.DataDir, "cache", app) }
func (p *Platform) logDir(app string) string   { return filepath.Join(p.cfg.DataDir, "logs", app) }

// App returns the named app.
func (p *Platform) App(name string) (App, error) {
	if err := ValidateAppName(name); err != nil {
		return App{}, err
	}
	return p.cfg.Store.App(name)
}

// Apps lists every app.
func (p *Platform) Apps() ([]App, error) { return p.cfg.Store.Apps() }

// CreateApp creates an empty app with its repository, owned by owner
// (none when "": admins only).
func (p *Platform) CreateApp(name, owner string) (App, error) {
	if err := ValidateAppName(name); err != nil {
		return App{}, err
	}
	if name == ReservedApp {
		return App{}, fmt.Errorf("%w: app name %s is nua's own (its dashboard answers on %s.%s): choose another", ErrInvalid, name, name, p.cfg.Domain)
	}
	p.uidMu.Lock() // two new apps never get the same uid
	defer p.uidMu.Unlock()
	defer p.lockApp(name)()
	_, err := p.cfg.Store.App(name)
	if err == nil {
		return App{}, fmt.Errorf("app %s: %w", name, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return App{}, err
	}
	app := App{Name: name, Created: time.Now().UTC()}
	if app.UID, err = p.nextUID(); err != nil {
		return App{}, err
	}
	if err := p.cfg.Repos.Init(name, "main"); err != nil {
		return App{}, err
	}
	if err := p.cfg.Store.PutApp(app); err != nil {
		return App{}, err
	}
	if owner != "" {
		if err := p.cfg.Store.SetOwner(name, owner); err != nil {
			return App{}, err
		}
	}
	p.log.Info("app created", "app", name, "owner", owner)
	return app, nil
}

// DestroyApp stops the app and deletes its repository, releases, caches,
// logs and route, and the addons it made, saying so on out; those of
// other apps it had attached are detached. Its data directory is kept. An
// app whose addon is attached to another app is refused.
func (p *Platform) DestroyApp(ctx context.Context, name string, out io.Writer) error {
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return err
	}
	defer unlock()
	own, attached, err := p.appAddons(name)
	if err != nil {
		return err
	}
	// Its containers must be gone before their images.
	if err := p.cfg.Runner.Remove(ctx, app); err != nil {
		p.log.Warn("stop app", "app", name, "err", err)
	}
	if err := p.cfg.Store.DeleteApp(name); err != nil {
		return err
	}
	var errs []error
	errs = append(errs, p.dropAppAddons(name, own, attached, buildout.NewOutput(out)))
	errs = append(errs, p.cfg.Repos.Remove(name))
	p.cfg.Builder.RemoveSlugs(name, nil)
	for _, dir := range []string{p.cacheDir(name), p.logDir(name), filepath.Join(p.cfg.DataDir, "certs", name)} {
		errs = append(errs, os.RemoveAll(dir))
	}
	p.log.Info("app destroyed", "app", name)
	return errors.Join(errs...)
}

// PurgeCache empties the app's build cache under the app's lock, so it
// waits for a build in progress: the next build starts cold, fetches its
// buildpacks again and reinstalls its dependencies. Running releases are
// not touched. It returns how many bytes it freed.
func (p *Platform) PurgeCache(name string) (int64, error) {
	_, unlock, err := p.lockedApp(name)
	if err != nil {
		return 0, err
	}
	defer unlock()
	dir := p.cacheDir(name)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("purge cache: %w", err)
	}
	var freed int64
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		freed += diskuse.Size(path)
		if err := os.RemoveAll(path); err != nil {
			return freed, fmt.Errorf("purge cache: %w", err)
		}
	}
	p.log.Info("cache purged", "app", name, "bytes", freed)
	return freed, nil
}

// Releases lists an app's releases, oldest first.
func (p *Platform) Releases(name string) ([]Release, error) {
	if _, err := p.App(name); err != nil {
		return nil, err
	}
	return p.cfg.Store.Releases(name)
}

// currentRelease returns the release app runs.
func (p *Platform) currentRelease(app App) (Release, error) {
	rels, err := p.cfg.Store.Releases(app.Name)
	if err != nil {
		return Release{}, err
	}
	i := slices.IndexFunc(rels, func(r Release) bool { return r.Version == app.Release })
	if i < 0 {
		return Release{}, fmt.Errorf("app %s has no release v%d: %w", app.Name, app.Release, ErrNotFound)
	}
	return rels[i], nil
}

// nextVersion returns the number the app's next release gets.
func (p *Platform) nextVersion(app string) (int, error) {
	rels, err := p.cfg.Store.Releases(app)
	if err != nil {
		return 0, err
	}
	if len(rels) == 0 {
		return 1, nil
	}
	return rels[len(rels)-1].Version + 1, nil
}

// Ps reports the app's running processes.
func (p *Platform) Ps(name string) ([]ProcessStatus, error) {
	if _, err := p.App(name); err != nil {
		return nil, err
	}
	return p.cfg.Monitor.Ps(name), nil
}

// Logs writes the app's logs to w.
func (p *Platform) Logs(ctx context.Context, name string, opt LogOptions, w io.Writer) error {
	if _, err := p.App(name); err != nil {
		return err
	}
	return p.cfg.Monitor.Logs(ctx, name, opt, w)
}

// Close stops every app's processes; their releases come back with Restore.
func (p *Platform) Close(ctx context.Context) error { return p.cfg.Runner.Close(ctx) }

// nextUID returns the uid number a new app gets: one no app ever had, so
// what a destroyed app left (its data dir) stays out of a new app's reach.
func (p *Platform) nextUID() (int, error) {
	apps, err := p.cfg.Store.Apps()
	if err != nil {
		return 0, err
	}
	for {
		n, err := p.cfg.Store.NextUID()
		if err != nil {
			return 0, err
		}
		if !slices.ContainsFunc(apps, func(a App) bool { return a.UID >= n }) {
			return n, nil
		}
	}
}

// Migrate brings apps made by an earlier version up to date: each gets its
// own uid. The daemon calls it before it takes any command.
func (p *Platform) Migrate() error {
	apps, err := p.cfg.Store.Apps()
	if err != nil {
		return err
	}
	for _, a := range apps {
		if a.UID != 0 {
			continue
		}
		p.uidMu.Lock()
		a.UID, err = p.nextUID()
		if err == nil {
			err = p.cfg.Store.PutApp(a)
		}
		p.uidMu.Unlock()
		if err != nil {
			return fmt.Errorf("give app %s its uid: %w", a.Name, err)
		}
	}
	return nil
}

// Sandboxed reports whether apps run confined, with one line saying how.
func (p *Platform) Sandboxed() (bool, string) { return p.cfg.Monitor.Sandboxed() }
