package nua

import (
	"errors"
	"fmt"
	"slices"
)

// Access says who may act on an app besides the admins, as Heroku's
// collaborators do: the owner (who made it with a push or apps:create, or
// got it with apps:transfer) and the collaborators may push, clone, read
// and change its config, run in it and so on; only the owner (or an admin)
// destroys it, transfers it or changes who may act on it.
type Access struct {
	App string `json:"app"`
	// Owner is "" for an app the admin socket made: admins only.
	Owner         string   `json:"owner,omitempty"`
	Collaborators []string `json:"collaborators,omitempty"` // sorted
}

// Owns reports whether user owns the app.
func (a Access) Owns(user string) bool { return user != "" && a.Owner == user }

// Member reports whether user owns or collaborates on the app.
func (a Access) Member(user string) bool {
	return a.Owns(user) || (user != "" && slices.Contains(a.Collaborators, user))
}

// Access returns who may act on the app.
func (p *Platform) Access(app string) (Access, error) {
	if _, err := p.App(app); err != nil {
		return Access{}, err
	}
	return p.cfg.Store.Access(app)
}

// AddCollaborator lets user push to and act on app.
func (p *Platform) AddCollaborator(app, user string) error {
	if err := p.accessChange(app, user); err != nil {
		return err
	}
	a, err := p.cfg.Store.Access(app)
	if err != nil {
		return err
	}
	if a.Owns(user) {
		return fmt.Errorf("%w: %s owns %s already", ErrInvalid, user, app)
	}
	return p.cfg.Store.AddCollaborator(app, user)
}

// RemoveCollaborator takes user's access to app away.
func (p *Platform) RemoveCollaborator(app, user string) error {
	if err := p.accessChange(app, user); err != nil {
		return err
	}
	a, err := p.cfg.Store.Access(app)
	if err != nil {
		return err
	}
	if a.Owns(user) {
		return fmt.Errorf("%w: %s owns %s: give it to someone else first (apps:transfer %s USER)", ErrInvalid, user, app, app)
	}
	return p.cfg.Store.RemoveCollaborator(app, user)
}

// Transfer makes user the owner of app; the previous owner stays a
// collaborator until access:remove.
func (p *Platform) Transfer(app, user string) error {
	if err := p.accessChange(app, user); err != nil {
		return err
	}
	return p.cfg.Store.SetOwner(app, user)
}

// accessChange validates the app and user of an access change.
func (p *Platform) accessChange(app, user string) error {
	if err := ValidateUserName(user); err != nil {
		return err
	}
	if _, err := p.App(app); err != nil {
		return err
	}
	if _, err := p.cfg.Store.User(user); errors.Is(err, ErrNotFound) {
		return fmt.Errorf("user %s: %w: see `users`", user, ErrNotFound)
	} else if err != nil {
		return err
	}
	return nil
}

// AppsFor lists the apps who may act on: every app for an admin.
func (p *Platform) AppsFor(who Identity) ([]App, error) {
	apps, err := p.cfg.Store.Apps()
	if err != nil || who.Admin {
		return apps, err
	}
	var mine []App
	for _, a := range apps {
		acc, err := p.cfg.Store.Access(a.Name)
		if err != nil {
			return nil, err
		}
		if acc.Member(who.User) {
			mine = append(mine, a)
		}
	}
	return mine, nil
}
