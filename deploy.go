package nua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua/internal/buildout"
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
// and, once the new web instances pass their checks, points the route at
// them and retires the old ones. Build output goes to out. On any failure
// the previous release keeps running and the error wraps ErrDeploy.
func (p *Platform) Deploy(ctx context.Context, req DeployRequest, out io.Writer) error {
	v, err := p.deploy(ctx, req, out)
	switch {
	case err == nil:
		p.notify(Notice{Event: EventDeploy, App: req.App, OK: true,
			Text: fmt.Sprintf("%s: v%d deployed (%s) by %s", req.App, v, short(req.Commit), req.By)})
	case errors.Is(err, ErrDeploy):
		p.notify(Notice{Event: EventDeploy, App: req.App,
			Text: fmt.Sprintf("%s: the deploy of %s by %s failed, the previous release keeps serving: %s", req.App, short(req.Commit), req.By,
				firstLine(strings.TrimPrefix(err.Error(), ErrDeploy.Error()+": ")))})
	}
	return err
}

// deploy is Deploy without its notices; it returns the new release's
// version.
func (p *Platform) deploy(ctx context.Context, req DeployRequest, out io.Writer) (int, error) {
	app, unlock, err := p.lockedApp(req.App)
	if err != nil {
		return 0, err
	}
	defer unlock()
	start := time.Now()
	if err := p.checkDisk(); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrDeploy, err)
	}
	o := buildout.NewOutput(out)
	o.Step("Building %s (%s)", app.Name, short(req.Commit))
	v, err := p.nextVersion(app.Name)
	if err != nil {
		return 0, err
	}
	var manifest AppJSON
	var sourceErr error
	var sourced time.Duration
	slug, err := p.cfg.Builder.Build(ctx, app, v, func(dir string) error {
		if sourceErr = req.Source(dir); sourceErr == nil {
			manifest, sourceErr = ReadAppJSON(dir)
		}
		sourced = time.Since(start)
		return sourceErr
	}, out)
	built := time.Since(start)
	switch {
	case err != nil && err == sourceErr:
		return 0, fmt.Errorf("%w: %w", ErrDeploy, err)
	case err != nil:
		return 0, fmt.Errorf("%w: build: %w", ErrDeploy, err)
	}
	p.cfg.Monitor.Event(app.Name, "deploy", fmt.Sprintf("built %s with %s in %.1fs", short(req.Commit), slug.Buildpack, time.Since(start).Seconds()))
	if app.Release == 0 {
		app.Formation = initialFormation(app.Formation, manifest.Formation)
	}
	app.Stopped = false
	rel := Release{
		App: app.Name, Version: v, Slug: v, Commit: req.Commit, Buildpack: slug.Buildpack,
		Processes: slug.Processes, Config: maps.Clone(app.Config), Healthchecks: manifest.Healthchecks, Cron: manifest.Cron,
		By: req.By, Description: "Deploy " + short(req.Commit), Created: time.Now().UTC(),
	}
	first := app.Release == 0
	if err := p.release(ctx, app, rel, o); err != nil {
		p.cfg.Builder.RemoveSlugs(app.Name, func(s int) bool { return s != v })
		return 0, err
	}
	o.Step("Launched in %.1fs", time.Since(start).Seconds())
	if first && manifest.Scripts.Postdeploy != "" {
		p.postdeploy(ctx, app, rel, manifest.Scripts.Postdeploy, o)
	}
	p.log.Info("deployed", "app", app.Name, "release", v, "source", sourced.Round(time.Millisecond),
		"build", (built - sourced).Round(time.Millisecond), "launch", (time.Since(start) - built).Round(time.Millisecond))
	o.Info("Released v%d", v)
	o.Info("%s deployed to nua", p.URL(app.Name))
	p.prune(app.Name)
	return v, nil
}

// postdeploy runs app.json's scripts.postdeploy once, after the app's
// first successful deploy, as Heroku does: in the new release, in the
// app's sandbox. Its failure is reported; the release stays live.
func (p *Platform) postdeploy(ctx context.Context, app App, rel Release, cmd string, o *buildout.Output) {
	o.Step("Running postdeploy: %s", cmd)
	if err := p.cfg.Runner.ReleasePhase(ctx, app, rel, cmd, o.Indent()); err != nil {
		o.Warn("postdeploy failed (%s): v%d stays live; run it by hand with `run %s %s`", firstLine(err.Error()), rel.Version, app.Name, cmd)
		p.cfg.Monitor.Event(app.Name, "deploy", "postdeploy failed: "+firstLine(err.Error()))
		return
	}
	p.cfg.Monitor.Event(app.Name, "deploy", "postdeploy ran")
}

// initialFormation adds app.json's quantities to the formation set so far.
func initialFormation(cur map[string]int, manifest map[string]FormationEntry) map[string]int {
	f := maps.Clone(cur)
	for typ, e := range manifest {
		if _, set := f[typ]; !set {
			if f == nil {
				f = map[string]int{}
			}
			f[typ] = e.Quantity
		}
	}
	return f
}

// release runs rel's release phase, launches it and records it: as the
// app's current release when it went live, as failed when it did not.
func (p *Platform) release(ctx context.Context, app App, rel Release, o *buildout.Output) error {
	err := p.goLive(ctx, app, rel, o)
	rel.Status = StatusSucceeded
	if err != nil {
		rel.Status = StatusFailed
	}
	if perr := p.cfg.Store.PutRelease(rel); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		p.cfg.Monitor.Event(app.Name, "deploy", fmt.Sprintf("v%d failed: %s", rel.Version, firstLine(err.Error())))
		return err
	}
	app.Release, app.Config = rel.Version, rel.Config
	if err := p.cfg.Store.PutApp(app); err != nil {
		return err
	}
	p.cfg.Monitor.Event(app.Name, "deploy", fmt.Sprintf("released v%d: %s", rel.Version, rel.Description))
	return nil
}

func (p *Platform) goLive(ctx context.Context, app App, rel Release, o *buildout.Output) error {
	if cmd, ok := rel.Processes["release"]; ok {
		o.Step("Running release command: %s", cmd)
		if err := p.cfg.Runner.ReleasePhase(ctx, app, rel, cmd, o.Indent()); err != nil {
			return fmt.Errorf("%w: release command: %w", ErrDeploy, err)
		}
	}
	o.Step("Launching...")
	if app.Stopped {
		return nil
	}
	if err := p.cfg.Runner.Launch(ctx, app, rel, ""); err != nil {
		return fmt.Errorf("%w: %w", ErrDeploy, err)
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
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
	o := buildout.NewOutput(out)
	if app.Release == 0 {
		app.Config = config
		o.Step("%s (applies from the first deploy)", desc)
		return p.cfg.Store.PutApp(app)
	}
	o.Step("%s and restarting %s", desc, name)
	return p.rerelease(ctx, app, func(cur Release) (Release, error) {
		cur.Config, cur.Description = config, desc
		return cur, nil
	}, by, o)
}

// rerelease makes a new release from the current one changed by edit, with
// no build, and launches it.
func (p *Platform) rerelease(ctx context.Context, app App, edit func(Release) (Release, error), by string, o *buildout.Output) error {
	cur, err := p.currentRelease(app)
	if err != nil {
		return err
	}
	rel, err := edit(cur)
	if err != nil {
		return err
	}
	if rel.Version, err = p.nextVersion(app.Name); err != nil {
		return err
	}
	rel.By, rel.Created, rel.Status = by, time.Now().UTC(), ""
	if err := p.release(ctx, app, rel, o); err != nil {
		return err
	}
	o.Info("Released v%d", rel.Version)
	return nil
}

func describeChange(set map[string]string, unset []string) string {
	if len(set) > 0 {
		return "Set " + strings.Join(slices.Sorted(maps.Keys(set)), ", ") + " config vars"
	}
	return "Unset " + strings.Join(unset, ", ") + " config vars"
}

// Rollback makes a new release that runs release version's slug and config
// (the release before the current one when version is 0), with no build.
func (p *Platform) Rollback(ctx context.Context, name string, version int, by string, out io.Writer) error {
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return err
	}
	defer unlock()
	rels, err := p.cfg.Store.Releases(name)
	if err != nil {
		return err
	}
	if app.Release == 0 {
		return fmt.Errorf("%w: %s has no release to roll back from", ErrInvalid, name)
	}
	target, err := rollbackTarget(rels, app.Release, version)
	if err != nil {
		return err
	}
	if !p.cfg.Builder.HasSlug(name, target.Slug) {
		return fmt.Errorf("%w: the build of v%d was pruned (nua keeps the builds of the last %d releases): push that commit again instead", ErrInvalid, target.Version, p.cfg.KeepSlugs)
	}
	o := buildout.NewOutput(out)
	o.Step("Rolling back %s to v%d", name, target.Version)
	return p.rerelease(ctx, app, func(Release) (Release, error) {
		target.Description = fmt.Sprintf("Rollback to v%d", target.Version)
		return target, nil
	}, by, o)
}

// rollbackTarget picks the release to roll back to from current.
func rollbackTarget(rels []Release, current, version int) (Release, error) {
	if version == 0 {
		for i := len(rels) - 1; i >= 0; i-- {
			if r := rels[i]; r.Version < current && r.Status != StatusFailed {
				return r, nil
			}
		}
		return Release{}, fmt.Errorf("%w: there is no release before v%d to roll back to", ErrInvalid, current)
	}
	i := slices.IndexFunc(rels, func(r Release) bool { return r.Version == version })
	switch {
	case i < 0:
		return Release{}, fmt.Errorf("%w: release v%d does not exist: see `releases`", ErrInvalid, version)
	case version == current:
		return Release{}, fmt.Errorf("%w: v%d is the current release", ErrInvalid, version)
	case rels[i].Status == StatusFailed:
		return Release{}, fmt.Errorf("%w: v%d failed and never went live: pick another release", ErrInvalid, version)
	}
	return rels[i], nil
}

// Restart replaces the app's processes of typ (all when typ is ""), web
// with no downtime.
func (p *Platform) Restart(ctx context.Context, name, typ string) error {
	app, rel, unlock, err := p.lockedRelease(name, typ)
	if err != nil {
		return err
	}
	defer unlock()
	if app.Stopped {
		return fmt.Errorf("%w: %s is stopped: start it with ps:start", ErrInvalid, name)
	}
	return p.cfg.Runner.Launch(ctx, app, rel, typ)
}

// lockedRelease is lockedApp that also returns the current release, which
// must have process type typ (when typ is not "").
func (p *Platform) lockedRelease(name, typ string) (App, Release, func(), error) {
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return App{}, Release{}, nil, err
	}
	rel, err := p.runnable(app, typ)
	if err != nil {
		unlock()
		return App{}, Release{}, nil, err
	}
	return app, rel, unlock, nil
}

// runnable returns the app's current release, checking typ is one of its
// process types (when typ is not "").
func (p *Platform) runnable(app App, typ string) (Release, error) {
	if app.Release == 0 {
		return Release{}, fmt.Errorf("%w: %s has not been deployed yet: push to it first", ErrInvalid, app.Name)
	}
	rel, err := p.currentRelease(app)
	if err != nil {
		return Release{}, err
	}
	if _, ok := rel.Processes[typ]; typ != "" && (!ok || typ == "release") {
		return Release{}, fmt.Errorf("%w: %s has no process type %q: it has %s", ErrInvalid, app.Name, clip(typ), strings.Join(processTypes(rel), ", "))
	}
	return rel, nil
}

func processTypes(rel Release) []string {
	var types []string
	for _, t := range slices.Sorted(maps.Keys(rel.Processes)) {
		if t != "release" {
			types = append(types, t)
		}
	}
	return types
}

// Stop stops every process of the app until Start or the next deploy,
// across daemon restarts.
func (p *Platform) Stop(ctx context.Context, name string) error {
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return err
	}
	defer unlock()
	app.Stopped = true
	if err := p.cfg.Store.PutApp(app); err != nil {
		return err
	}
	if err := p.cfg.Runner.Stop(ctx, name); err != nil {
		return err
	}
	p.cfg.Monitor.Event(name, "ps", "stopped")
	return nil
}

// Start starts a stopped app's current release.
func (p *Platform) Start(ctx context.Context, name string) error {
	app, rel, unlock, err := p.lockedRelease(name, "")
	if err != nil {
		return err
	}
	defer unlock()
	app.Stopped = false
	if err := p.cfg.Runner.Launch(ctx, app, rel, ""); err != nil {
		return err
	}
	return p.cfg.Store.PutApp(app)
}

// Restore starts the current release of every app that is not stopped, as
// after a daemon restart.
func (p *Platform) Restore(ctx context.Context) error {
	apps, err := p.cfg.Store.Apps()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, app := range apps {
		if app.Release == 0 || app.Stopped {
			continue
		}
		wg.Go(func() {
			if err := p.Restart(ctx, app.Name, ""); err != nil {
				p.log.Error("restore app", "app", app.Name, "err", err)
			}
		})
	}
	wg.Wait()
	return nil
}

// prune removes built slugs that none of the last KeepSlugs releases use.
func (p *Platform) prune(app string) {
	rels, err := p.cfg.Store.Releases(app)
	if err != nil {
		return
	}
	keep := map[int]bool{}
	for _, r := range rels[max(0, len(rels)-p.cfg.KeepSlugs):] {
		keep[r.Slug] = true
	}
	p.cfg.Builder.RemoveSlugs(app, func(v int) bool { return keep[v] })
}

func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}
