package nua

import (
	"errors"
	"fmt"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/nua-paas/nua/internal/excerpt"
)

// User is someone who may use nua: the holder of the user's keys. An admin
// manages users, keys and the server and may act on every app; a member
// acts on the apps they own or collaborate on.
type User struct {
	Name    string    `json:"name"`
	Admin   bool      `json:"admin,omitempty"`
	Created time.Time `json:"created"`
}

// AdminUser is the admin a new store starts with and the one keys made
// before users existed belong to; install.sh gives it NUA_KEY.
const AdminUser = "admin"

// ErrLastAdmin marks a change that would leave nua with no admin.
var ErrLastAdmin = errors.New("nua needs at least one admin")

// Accounts keeps users, their keys, who may act on each app and the audit
// trail. The store package implements it on bbolt.
type Accounts interface {
	// Users returns every user, sorted by name.
	Users() ([]User, error)
	// User returns the named user or an error wrapping ErrNotFound.
	User(name string) (User, error)
	// PutUser adds a user; it fails with ErrExists when the name is taken.
	PutUser(User) error
	// DeleteUser removes a user with their keys and collaborations. It
	// fails with ErrLastAdmin for the last admin and with ErrInvalid while
	// the user owns apps.
	DeleteUser(name string) error
	// Keys returns the keys of user, or of every user when user is "",
	// sorted by user and name.
	Keys(user string) ([]Key, error)
	// KeyByFingerprint returns the key with that fingerprint or an error wrapping ErrNotFound.
	KeyByFingerprint(fp string) (Key, error)
	// PutKey adds a key to its user; it fails with ErrNotFound when the
	// user does not exist and ErrExists when the user has a key of that
	// name or any user has that key.
	PutKey(Key) error
	// DeleteKey removes a user's key or fails with ErrNotFound.
	DeleteKey(user, name string) error
	// Access returns the owner and collaborators of an app.
	Access(app string) (Access, error)
	// SetOwner makes user the app's owner; the previous owner stays a
	// collaborator. The app and the user must exist (ErrNotFound).
	SetOwner(app, user string) error
	// AddCollaborator lets user act on the app; ErrExists when they can.
	AddCollaborator(app, user string) error
	// RemoveCollaborator takes a collaborator off the app; ErrNotFound
	// when user is not one.
	RemoveCollaborator(app, user string) error
	// AddEvent appends e to the app's trail, or to the server-wide one
	// when app is "", dropping the oldest events past the store's bound.
	AddEvent(app string, e Event) error
	// Events returns the last n events of the app's trail (the server's
	// when app is ""), oldest first.
	Events(app string, n int) ([]Event, error)
	// EventApps lists the apps that have a trail, destroyed ones too.
	EventApps() ([]string, error)
}

// ValidateUserName checks the name of a user: the rule of key names.
func ValidateUserName(name string) error {
	if !keyNameRE.MatchString(name) {
		return fmt.Errorf("%w: user name %q: use up to 64 letters, digits, dots, dashes, underscores and @, starting with a letter or digit", ErrInvalid, clip(name))
	}
	return nil
}

// Doors an Identity comes through.
const (
	DoorSSH    = "ssh"
	DoorSocket = "socket"
	DoorWeb    = "web" // the dashboard and the HTTP API
)

// Identity is who runs a command or a git session.
type Identity struct {
	// User is the nua user, or for the admin socket the local account
	// that called it ("local:root").
	User  string
	Admin bool
	// Key names the user's SSH key the session authenticated with.
	Key  string
	Door string
	// System is set for the admin socket: root or nua's own account, an
	// admin that is not one of nua's users (apps it makes have no owner).
	System bool
}

// Owner is the user an app made by id belongs to: none for System.
func (id Identity) Owner() string {
	if id.System {
		return ""
	}
	return id.User
}

// Users lists the users.
func (p *Platform) Users() ([]User, error) { return p.cfg.Store.Users() }

// AddUser adds a member, or an admin.
func (p *Platform) AddUser(name string, admin bool) (User, error) {
	if err := ValidateUserName(name); err != nil {
		return User{}, err
	}
	u := User{Name: name, Admin: admin, Created: time.Now().UTC()}
	if err := p.cfg.Store.PutUser(u); err != nil {
		return User{}, err
	}
	p.log.Info("user added", "user", name, "admin", admin)
	return u, nil
}

// RemoveUser removes a user, their keys and their collaborations. The last
// admin and a user who owns apps stay.
func (p *Platform) RemoveUser(name string) error {
	if err := ValidateUserName(name); err != nil {
		return err
	}
	if err := p.cfg.Store.DeleteUser(name); err != nil {
		return err
	}
	p.log.Info("user removed", "user", name)
	return nil
}

// Identify returns who holds the key with fingerprint fp, as the SSH door
// knows them.
func (p *Platform) Identify(fp string) (Identity, error) {
	k, err := p.cfg.Store.KeyByFingerprint(fp)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: this key is no longer authorised: ask an admin to add it again (keys:add USER KEYNAME)", ErrForbidden)
	}
	u, err := p.cfg.Store.User(k.User)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: the user of this key is gone: ask an admin", ErrForbidden)
	}
	return Identity{User: u.Name, Admin: u.Admin, Key: k.Name, Door: DoorSSH}, nil
}

// IdentifyUser returns user as the door (DoorWeb) knows them: a session or
// token of theirs lets them in only while they are one of nua's users.
func (p *Platform) IdentifyUser(user, door string) (Identity, error) {
	u, err := p.cfg.Store.User(user)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: user %s is gone: ask an admin", ErrForbidden, excerpt.Of(user))
	}
	return Identity{User: u.Name, Admin: u.Admin, Door: door}, nil
}

// Authorize returns the fingerprint of the key pub if some user holds it;
// the SSH door turns it into an Identity with Identify on each session.
func (p *Platform) Authorize(pub gossh.PublicKey) (string, bool) {
	fp := gossh.FingerprintSHA256(pub)
	if _, err := p.Identify(fp); err != nil {
		return "", false
	}
	return fp, true
}
