package nua

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nua-paas/nua/internal/appname"
)

// Addon is a backing service nua runs for an app: a PostgreSQL database, a
// Redis instance or a MariaDB database. It belongs to the app that made it
// and may be attached to other apps too; each attachment puts its URL in
// that app's config as AS_URL.
type Addon struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // one of AddonKinds' names
	// App is the app that made it: destroying the app destroys it.
	App     string    `json:"app"`
	Created time.Time `json:"created"`
	By      string    `json:"by,omitempty"`
	// URL is how apps reach it, its password included: it never leaves
	// nua but as an attached app's config var.
	URL         string       `json:"url"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment puts an addon's URL in an app's config.
type Attachment struct {
	App string `json:"app"`
	As  string `json:"as"` // DATABASE: the var is DATABASE_URL
}

// Var is the config var the attachment sets.
func (a Attachment) Var() string { return a.As + "_URL" }

// AttachedTo returns the attachment of the addon to app, if any.
func (a Addon) AttachedTo(app string) (Attachment, bool) {
	i := slices.IndexFunc(a.Attachments, func(at Attachment) bool { return at.App == app })
	if i < 0 {
		return Attachment{}, false
	}
	return a.Attachments[i], true
}

// AddonKind is one kind of service nua runs.
type AddonKind struct {
	Name string
	// Aliases are other names for it in addons:create and app.json, as
	// Heroku's add-on names ("heroku-postgresql").
	Aliases []string
	// As is the attachment name the kind gets by default.
	As string
	// Package is the Debian package of its server.
	Package string
}

// AddonKinds are the services nua offers, in the order `addons` lists them.
var AddonKinds = []AddonKind{
	{Name: "postgres", Aliases: []string{"postgresql", "heroku-postgresql", "pg"}, As: "DATABASE", Package: "postgresql"},
	{Name: "redis", Aliases: []string{"heroku-redis", "rediscloud"}, As: "REDIS", Package: "redis-server"},
	{Name: "mariadb", Aliases: []string{"mysql", "jawsdb-maria", "jawsdb", "cleardb"}, As: "DATABASE", Package: "mariadb-server"},
}

// ParseAddonKind returns the kind named by s: a kind's name or alias,
// with an optional Heroku plan after a colon ("heroku-postgresql:mini"),
// which nua ignores.
func ParseAddonKind(s string) (AddonKind, error) {
	name, _, _ := strings.Cut(s, ":")
	for _, k := range AddonKinds {
		if name == k.Name || slices.Contains(k.Aliases, name) {
			return k, nil
		}
	}
	return AddonKind{}, fmt.Errorf("%w: unknown addon kind %q: use postgres, redis or mariadb", ErrInvalid, clip(s))
}

// ValidateAddonName checks the name of an addon: a DNS label, as app names.
func ValidateAddonName(name string) error {
	if !appname.Valid(name) {
		return fmt.Errorf("%w: addon name %q: use 1 to 63 lowercase letters, digits and dashes, starting with a letter and not ending with a dash", ErrInvalid, clip(name))
	}
	return nil
}

var attachRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,59}$`)

// ValidateAttachmentName checks the name given with --as: the config var
// will be NAME_URL.
func ValidateAttachmentName(as string) error {
	if !attachRE.MatchString(as) || strings.HasSuffix(as, "_URL") {
		return fmt.Errorf("%w: attachment name %q: use up to 60 uppercase letters, digits and underscores, starting with a letter (DATABASE sets DATABASE_URL)", ErrInvalid, clip(as))
	}
	return nil
}

// AddonService runs the servers behind addons. The addons package
// implements it.
type AddonService interface {
	// Provision makes the addon name of kind (a database and its role,
	// or a server) and returns its URL. On error nothing of it is left.
	Provision(ctx context.Context, kind, name string) (url string, err error)
	// Deprovision deletes the addon and its data; deleting one already
	// gone is no error.
	Deprovision(ctx context.Context, kind, name string) error
	// Info describes the addon as label/value pairs (size, connections).
	Info(ctx context.Context, a Addon) ([][2]string, error)
	// Client returns the command line of the kind's client connected to
	// the addon, and the variables holding its credentials: they go in
	// the client's environment, never on its command line.
	Client(a Addon) (argv []string, env map[string]string, err error)
}

// AddonStore keeps addons. The store package implements it.
type AddonStore interface {
	// Addons returns every addon, sorted by name.
	Addons() ([]Addon, error)
	// Addon returns the named addon or an error wrapping ErrNotFound.
	Addon(name string) (Addon, error)
	// PutAddon creates or replaces an addon.
	PutAddon(Addon) error
	// DeleteAddon removes an addon; removing one already gone is no error.
	DeleteAddon(name string) error
}

// errNoAddons refuses addon commands on a platform with no addon service.
var errNoAddons = fmt.Errorf("%w: this nua runs no addon services (nua dev and the local door have none)", ErrInvalid)

// newAddonName picks a free name such as postgres-amber-31415.
func (p *Platform) newAddonName(kind string) (string, error) {
	for range 20 {
		w, err := rand.Int(rand.Reader, big.NewInt(int64(len(nameWords))))
		if err != nil {
			return "", err
		}
		n, err := rand.Int(rand.Reader, big.NewInt(90000))
		if err != nil {
			return "", err
		}
		name := fmt.Sprintf("%s-%s-%d", kind, nameWords[w.Int64()], 10000+n.Int64())
		if _, err := p.cfg.Store.Addon(name); errors.Is(err, ErrNotFound) {
			return name, nil
		}
	}
	return "", errors.New("no free addon name found: give one with --name")
}

var nameWords = []string{
	"amber", "aqua", "azure", "birch", "brisk", "calm", "cedar", "clear", "coral", "crisp",
	"dawn", "deep", "elm", "fern", "fleet", "frost", "gold", "green", "hazel", "ivory",
	"jade", "keen", "lilac", "lunar", "maple", "mint", "noble", "oak", "olive", "pearl",
	"pine", "quiet", "rapid", "ruby", "sage", "silver", "solid", "swift", "teal", "vivid",
}
