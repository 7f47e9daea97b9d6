package nua

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// AddonInfo returns the named addon.
func (p *Platform) AddonInfo(name string) (Addon, error) {
	if err := ValidateAddonName(name); err != nil {
		return Addon{}, err
	}
	return p.cfg.Store.Addon(name)
}

// AddonDetails describes the addon's data as its service sees it.
func (p *Platform) AddonDetails(ctx context.Context, a Addon) ([][2]string, error) {
	if p.cfg.Addons == nil {
		return nil, errNoAddons
	}
	return p.cfg.Addons.Info(ctx, a)
}

// Addons lists the addons app made or has attached; every addon when app
// is "".
func (p *Platform) Addons(app string) ([]Addon, error) {
	all, err := p.cfg.Store.Addons()
	if err != nil || app == "" {
		return all, err
	}
	if _, err := p.App(app); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(a Addon) bool {
		_, ok := a.AttachedTo(app)
		return a.App != app && !ok
	}), nil
}

// AddonsFor lists the addons of the apps who may act on.
func (p *Platform) AddonsFor(who Identity) ([]Addon, error) {
	all, err := p.cfg.Store.Addons()
	if err != nil || who.Admin {
		return all, err
	}
	apps, err := p.AppsFor(who)
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, a := range apps {
		mine[a.Name] = true
	}
	return slices.DeleteFunc(all, func(a Addon) bool {
		return !mine[a.App] && !slices.ContainsFunc(a.Attachments, func(at Attachment) bool { return mine[at.App] })
	}), nil
}

// AddonClient runs the client of kind (psql, redis-cli, mariadb)
// connected to an addon attached to app, as a one-off of the app's current
// release, in its sandbox. name picks the addon when the app has several
// of the kind. It returns the client's exit status.
func (p *Platform) AddonClient(ctx context.Context, appName, kind, name string, req RunRequest) (int, error) {
	if p.cfg.Addons == nil {
		return 0, errNoAddons
	}
	app, err := p.App(appName)
	if err != nil {
		return 0, err
	}
	a, err := p.attachedAddon(appName, kind, name)
	if err != nil {
		return 0, err
	}
	rel, err := p.runnable(app, "")
	if err != nil {
		return 0, err
	}
	argv, env, err := p.cfg.Addons.Client(a)
	if err != nil {
		return 0, err
	}
	rel.Config = maps.Clone(rel.Config)
	if rel.Config == nil {
		rel.Config = map[string]string{}
	}
	maps.Copy(rel.Config, env)
	req.App, req.Command = appName, argv
	p.cfg.Monitor.Event(app.Name, "run", fmt.Sprintf("%s client of %s", a.Kind, a.Name))
	return p.cfg.Runner.Run(ctx, app, rel, req)
}

// attachedAddon returns the addon of kind attached to app named name, or
// the only one when name is "".
func (p *Platform) attachedAddon(app, kind, name string) (Addon, error) {
	addons, err := p.Addons(app)
	if err != nil {
		return Addon{}, err
	}
	var found []Addon
	for _, a := range addons {
		if _, ok := a.AttachedTo(app); ok && a.Kind == kind && (name == "" || a.Name == name) {
			found = append(found, a)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0 && name != "":
		return Addon{}, fmt.Errorf("%w: %s has no %s addon %s attached: see `addons %s`", ErrInvalid, app, kind, clip(name), app)
	case len(found) == 0:
		return Addon{}, fmt.Errorf("%w: %s has no %s addon attached: create one with `addons:create %s %s`", ErrInvalid, app, kind, app, kind)
	}
	var names []string
	for _, a := range found {
		names = append(names, a.Name)
	}
	return Addon{}, fmt.Errorf("%w: %s has several %s addons (%s): name one", ErrInvalid, app, kind, strings.Join(names, ", "))
}
