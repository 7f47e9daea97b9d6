package nua

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nua-paas/nua/internal/buildout"
)

// AddonRequest asks for an addon to be made for an app.
type AddonRequest struct {
	App  string
	Kind string // a kind's name or alias (see ParseAddonKind)
	Name string // "" picks one, such as postgres-amber-31415
	As   string // "" is the kind's default (DATABASE, REDIS)
	By   string
}

// CreateAddon provisions an addon for req.App and attaches it: its URL
// becomes the app's AS_URL config var on a new release, with no downtime.
// On any error nothing of the addon is left.
func (p *Platform) CreateAddon(ctx context.Context, req AddonRequest, out io.Writer) (Addon, error) {
	if p.cfg.Addons == nil {
		return Addon{}, errNoAddons
	}
	kind, err := ParseAddonKind(req.Kind)
	if err != nil {
		return Addon{}, err
	}
	at := Attachment{App: req.App, As: cmp.Or(req.As, kind.As)}
	if err := ValidateAttachmentName(at.As); err != nil {
		return Addon{}, err
	}
	if req.Name != "" {
		if err := ValidateAddonName(req.Name); err != nil {
			return Addon{}, err
		}
	}
	app, unlock, err := p.lockedApp(req.App)
	if err != nil {
		return Addon{}, err
	}
	defer unlock()
	o := buildout.NewOutput(out)
	o.Step("Creating a %s addon for %s", kind.Name, app.Name)
	a, err := p.provision(ctx, app, kind, req.Name, at, req.By)
	if err != nil {
		return Addon{}, err
	}
	o.Info("Created %s", a.Name)
	desc := fmt.Sprintf("Attach %s as %s", a.Name, at.Var())
	if err := p.setAddonVar(ctx, app, at.Var(), a.URL, desc, req.By, o); err != nil {
		return Addon{}, errors.Join(err, p.unprovision(a))
	}
	o.Info("%s attached to %s as %s", a.Name, app.Name, at.Var())
	return a, nil
}

// provision makes and records an addon attached to app as at; the app's
// config is not changed yet.
func (p *Platform) provision(ctx context.Context, app App, kind AddonKind, name string, at Attachment, by string) (Addon, error) {
	p.addonMu.Lock()
	defer p.addonMu.Unlock()
	if err := p.checkVarFree(app, at.Var()); err != nil {
		return Addon{}, err
	}
	if name == "" {
		var err error
		if name, err = p.newAddonName(kind.Name); err != nil {
			return Addon{}, err
		}
	} else if _, err := p.cfg.Store.Addon(name); err == nil {
		return Addon{}, fmt.Errorf("addon %s: %w: pick another --name", name, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return Addon{}, err
	}
	url, err := p.cfg.Addons.Provision(ctx, kind.Name, name)
	if err != nil {
		return Addon{}, fmt.Errorf("create addon %s: %w", name, err)
	}
	a := Addon{Name: name, Kind: kind.Name, App: app.Name, Created: time.Now().UTC(), By: by, URL: url, Attachments: []Attachment{at}}
	if err := p.cfg.Store.PutAddon(a); err != nil {
		return Addon{}, errors.Join(err, p.cfg.Addons.Deprovision(context.WithoutCancel(ctx), kind.Name, name))
	}
	p.log.Info("addon created", "addon", name, "kind", kind.Name, "app", app.Name)
	return a, nil
}

// unprovision deletes an addon provision made.
func (p *Platform) unprovision(a Addon) error {
	if p.cfg.Addons == nil {
		return errNoAddons
	}
	p.addonMu.Lock()
	defer p.addonMu.Unlock()
	err := p.cfg.Addons.Deprovision(context.Background(), a.Kind, a.Name)
	if err != nil {
		return fmt.Errorf("delete addon %s: %w", a.Name, err)
	}
	return p.cfg.Store.DeleteAddon(a.Name)
}

// checkVarFree refuses a config var the app has already, from an addon
// or config:set. The caller holds addonMu.
func (p *Platform) checkVarFree(app App, name string) error {
	owner, err := p.varOwner(app.Name, name)
	if err != nil {
		return err
	}
	if owner != "" {
		return fmt.Errorf("%w: %s has %s from addon %s already: attach with --as OTHER_NAME, or detach %s first", ErrInvalid, app.Name, name, owner, owner)
	}
	if _, ok := app.Config[name]; ok {
		return fmt.Errorf("%w: %s has the config var %s already: unset it with `config:unset %s %s` or attach with --as OTHER_NAME", ErrInvalid, app.Name, name, app.Name, name)
	}
	return nil
}

// varOwner returns the addon whose attachment sets config var name of
// app, or "".
func (p *Platform) varOwner(app, name string) (string, error) {
	addons, err := p.cfg.Store.Addons()
	if err != nil {
		return "", err
	}
	for _, a := range addons {
		if at, ok := a.AttachedTo(app); ok && at.Var() == name {
			return a.Name, nil
		}
	}
	return "", nil
}

// checkAddonVars refuses config:set and config:unset of a var an addon's
// attachment sets.
func (p *Platform) checkAddonVars(app string, set map[string]string, unset []string) error {
	for _, k := range append(slices.Collect(maps.Keys(set)), unset...) {
		owner, err := p.varOwner(app, k)
		if err != nil {
			return err
		}
		if owner != "" {
			return fmt.Errorf("%w: %s is set by addon %s: detach it with `addons:detach %s %s` (or destroy it with addons:destroy)", ErrInvalid, k, owner, owner, app)
		}
	}
	return nil
}

// withAttachments returns config with the URLs of the addons attached to
// app now: a rollback keeps the app on its addons, whose vars only
// addons:attach and addons:detach change.
func (p *Platform) withAttachments(app string, config map[string]string) (map[string]string, error) {
	all, err := p.cfg.Store.Addons()
	if err != nil {
		return nil, err
	}
	set := map[string]string{}
	for _, a := range all {
		if at, ok := a.AttachedTo(app); ok {
			set[at.Var()] = a.URL
		}
	}
	return withVars(config, set, nil), nil
}

// setAddonVar sets (value != "") or removes config var k of app, which
// the caller has locked, on a new release when the app runs.
func (p *Platform) setAddonVar(ctx context.Context, app App, k, value, desc, by string, o *buildout.Output) error {
	var set map[string]string
	var unset []string
	if value != "" {
		set = map[string]string{k: value}
	} else {
		unset = []string{k}
	}
	config := withVars(app.Config, set, unset)
	if app.Release == 0 {
		app.Config = config
		o.Info("%s (applies from the first deploy)", desc)
		return p.cfg.Store.PutApp(app)
	}
	o.Step("%s and restarting %s", desc, app.Name)
	return p.rerelease(ctx, app, func(cur Release) (Release, error) {
		cur.Config, cur.Description = config, desc
		return cur, nil
	}, by, o)
}

// AttachAddon puts the addon's URL in another app's config as AS_URL (as
// "" is the kind's default), on a new release with no downtime.
func (p *Platform) AttachAddon(ctx context.Context, name, appName, as, by string, out io.Writer) error {
	a, err := p.AddonInfo(name)
	if err != nil {
		return err
	}
	kind, err := ParseAddonKind(a.Kind)
	if err != nil {
		return err
	}
	at := Attachment{App: appName, As: cmp.Or(as, kind.As)}
	if err := ValidateAttachmentName(at.As); err != nil {
		return err
	}
	app, unlock, err := p.lockedApp(appName)
	if err != nil {
		return err
	}
	defer unlock()
	err = p.editAddon(name, func(a *Addon) error {
		if cur, ok := a.AttachedTo(appName); ok {
			return fmt.Errorf("%w: %s is attached to %s already, as %s", ErrInvalid, name, appName, cur.Var())
		}
		if err := p.checkVarFree(app, at.Var()); err != nil {
			return err
		}
		a.Attachments = append(a.Attachments, at)
		return nil
	})
	if err != nil {
		return err
	}
	o := buildout.NewOutput(out)
	if err := p.setAddonVar(ctx, app, at.Var(), a.URL, fmt.Sprintf("Attach %s as %s", name, at.Var()), by, o); err != nil {
		return errors.Join(err, p.dropAttachment(name, appName))
	}
	o.Info("%s attached to %s as %s", name, appName, at.Var())
	return nil
}

// DetachAddon removes the addon's URL from an app's config, on a new
// release with no downtime. The app that made the addon cannot detach it:
// it destroys it.
func (p *Platform) DetachAddon(ctx context.Context, name, appName, by string, out io.Writer) error {
	if err := ValidateAddonName(name); err != nil {
		return err
	}
	app, unlock, err := p.lockedApp(appName)
	if err != nil {
		return err
	}
	defer unlock()
	var at Attachment
	err = p.editAddon(name, func(a *Addon) error {
		var ok bool
		if at, ok = a.AttachedTo(appName); !ok {
			return fmt.Errorf("%w: %s is not attached to %s", ErrInvalid, name, appName)
		}
		if a.App == appName {
			return fmt.Errorf("%w: %s belongs to %s: destroy it with `addons:destroy %s --confirm %s`", ErrInvalid, name, appName, name, name)
		}
		a.Attachments = slices.DeleteFunc(a.Attachments, func(at Attachment) bool { return at.App == appName })
		return nil
	})
	if err != nil {
		return err
	}
	o := buildout.NewOutput(out)
	if err := p.setAddonVar(ctx, app, at.Var(), "", fmt.Sprintf("Detach %s (%s)", name, at.Var()), by, o); err != nil {
		return errors.Join(err, p.editAddon(name, func(a *Addon) error {
			a.Attachments = append(a.Attachments, at)
			return nil
		}))
	}
	o.Info("%s detached from %s", name, appName)
	return nil
}

// DestroyAddon detaches the addon from its app and deletes it with its
// data. An addon attached to other apps is refused: detach it first.
func (p *Platform) DestroyAddon(ctx context.Context, name, by string, out io.Writer) error {
	if p.cfg.Addons == nil {
		return errNoAddons
	}
	a, err := p.AddonInfo(name)
	if err != nil {
		return err
	}
	app, unlock, err := p.lockedApp(a.App)
	if err != nil {
		return err
	}
	defer unlock()
	var at Attachment
	var attached bool
	err = p.editAddon(name, func(cur *Addon) error {
		if err := attachedElsewhere(*cur); err != nil {
			return err
		}
		at, attached = cur.AttachedTo(cur.App)
		cur.Attachments = nil
		return nil
	})
	if err != nil {
		return err
	}
	o := buildout.NewOutput(out)
	o.Step("Destroying %s", name)
	if attached {
		if err := p.setAddonVar(ctx, app, at.Var(), "", fmt.Sprintf("Detach %s (%s)", name, at.Var()), by, o); err != nil {
			return errors.Join(err, p.editAddon(name, func(a *Addon) error {
				a.Attachments = append(a.Attachments, at)
				return nil
			}))
		}
	}
	if err := p.unprovision(a); err != nil {
		return err
	}
	o.Info("Destroyed %s and its data", name)
	return nil
}

// attachedElsewhere refuses an addon attached to apps besides its own.
func attachedElsewhere(a Addon) error {
	var others []string
	for _, at := range a.Attachments {
		if at.App != a.App {
			others = append(others, at.App)
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("%w: %s is attached to %s too: detach it there first (`addons:detach %s %s`)", ErrInvalid, a.Name, strings.Join(others, ", "), a.Name, others[0])
	}
	return nil
}

// editAddon changes the stored addon name with edit, under addonMu.
func (p *Platform) editAddon(name string, edit func(*Addon) error) error {
	p.addonMu.Lock()
	defer p.addonMu.Unlock()
	a, err := p.cfg.Store.Addon(name)
	if err != nil {
		return err
	}
	if err := edit(&a); err != nil {
		return err
	}
	return p.cfg.Store.PutAddon(a)
}

func (p *Platform) dropAttachment(name, app string) error {
	return p.editAddon(name, func(a *Addon) error {
		a.Attachments = slices.DeleteFunc(a.Attachments, func(at Attachment) bool { return at.App == app })
		return nil
	})
}

// appAddons checks that the app's addons may go with it (none is
// attached to another app) and returns them and those of other apps it
// has attached. The caller holds the app's lock.
func (p *Platform) appAddons(app string) (own, attached []Addon, err error) {
	all, err := p.cfg.Store.Addons()
	if err != nil {
		return nil, nil, err
	}
	for _, a := range all {
		switch _, ok := a.AttachedTo(app); {
		case a.App == app:
			if err := attachedElsewhere(a); err != nil {
				return nil, nil, fmt.Errorf("%w; then destroy %s", err, app)
			}
			own = append(own, a)
		case ok:
			attached = append(attached, a)
		}
	}
	return own, attached, nil
}

// dropAppAddons destroys the addons own of an app being destroyed and
// detaches those of other apps it had attached, saying so on o.
func (p *Platform) dropAppAddons(app string, own, attached []Addon, o *buildout.Output) error {
	var errs []error
	for _, a := range own {
		if err := p.unprovision(a); err != nil {
			errs = append(errs, err)
			continue
		}
		o.Info("Destroyed addon %s (%s) and its data", a.Name, a.Kind)
	}
	for _, a := range attached {
		if err := p.dropAttachment(a.Name, app); err != nil {
			errs = append(errs, err)
			continue
		}
		o.Info("Detached addon %s of %s", a.Name, a.App)
	}
	return errors.Join(errs...)
}

// provisionManifest makes the addons app.json lists, on an app's first
// deploy, as Heroku does; one whose config var the app has already (an
// addon made before the push) is skipped. The caller holds the app's lock
// and puts the vars in the release's config.
func (p *Platform) provisionManifest(ctx context.Context, app App, specs []AddonSpec, by string, o *buildout.Output) ([]Addon, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	if p.cfg.Addons == nil {
		return nil, errNoAddons
	}
	o.Step("Provisioning the addons of app.json")
	var made []Addon
	for _, s := range specs {
		kind, err := ParseAddonKind(s.Plan)
		if err != nil {
			return made, err
		}
		at := Attachment{App: app.Name, As: cmp.Or(s.As, kind.As)}
		if owner, err := p.varOwner(app.Name, at.Var()); err != nil {
			return made, err
		} else if owner != "" {
			o.Info("%s is attached as %s already: %s skipped", owner, at.Var(), s.Plan)
			continue
		}
		a, err := p.provision(ctx, app, kind, "", at, by)
		if err != nil {
			return made, err
		}
		made = append(made, a)
		app.Config = withVars(app.Config, map[string]string{at.Var(): a.URL}, nil)
		o.Info("Created %s, attached as %s", a.Name, at.Var())
	}
	return made, nil
}

// unprovisionAll deletes addons made for a deploy that failed.
func (p *Platform) unprovisionAll(addons []Addon, o *buildout.Output) {
	for _, a := range addons {
		if err := p.unprovision(a); err != nil {
			p.log.Error("delete addon of a failed deploy", "addon", a.Name, "err", err)
			continue
		}
		o.Info("Deleted %s: the deploy failed", a.Name)
	}
}
