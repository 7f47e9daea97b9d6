// Package nua holds the domain of the platform (apps, releases, config, keys)
// and the deploy pipeline that turns a pushed commit into running processes
// behind the proxy.
package nua

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nua-paas/nua/internal/appname"
	"github.com/nua-paas/nua/internal/excerpt"
)

// Version is nua's version, set at build time.
var Version = "dev"

// Errors callers tell apart with errors.Is.
var (
	// ErrInvalid marks input that breaks a rule; the message names the rule.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound marks an app, release or key that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists marks an app or key that exists already.
	ErrExists = errors.New("already exists")
	// ErrDeploy marks a deploy that failed; the previous release keeps serving.
	ErrDeploy = errors.New("deploy failed")
	// ErrForbidden marks a command the caller may not run; the message
	// says who may.
	ErrForbidden = errors.New("forbidden")
)

// App is one application: a git repository, its config and its releases.
type App struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Branch is the deploy branch; empty until the first push picks main or master.
	Branch string `json:"branch,omitempty"`
	// Config holds the app's environment variables.
	Config map[string]string `json:"config,omitempty"`
	// Formation is the number of instances of each process type; a type
	// missing from it runs one instance.
	Formation map[string]int `json:"formation,omitempty"`
	// Release is the current release's version, 0 before the first deploy.
	Release int `json:"release"`
	// Stopped is set by ps:stop: the app's processes stay down, across
	// daemon restarts, until ps:start or the next deploy.
	Stopped bool `json:"stopped,omitempty"`
	// UID numbers the app among all apps ever made (1, 2, ...): its
	// processes run as the sandbox's uid for that number. 0 until assigned.
	UID int `json:"uid,omitempty"`
	// Resources are the sandbox limits of each process type that differ
	// from the defaults.
	Resources map[string]Limits `json:"resources,omitempty"`
	// Domains are the custom hosts the app answers on besides APP.DOMAIN,
	// sorted, in ASCII (punycode) form.
	Domains []string `json:"domains,omitempty"`
	// NoRedirect keeps plain HTTP serving the app where HTTPS works too
	// (domains:redirect APP off).
	NoRedirect bool `json:"no_redirect,omitempty"`
	// Certs are the certificates the app's members gave (certs:add), one
	// per host they cover; the other hosts get theirs from ACME.
	Certs []Cert `json:"certs,omitempty"`
}

// Limits bound each instance of a process type: memory in bytes, CPU in
// cores, tasks (processes and threads); 0 keeps the default.
type Limits struct {
	Memory int64   `json:"memory,omitempty"`
	CPU    float64 `json:"cpu,omitempty"`
	Tasks  int     `json:"tasks,omitempty"`
}

// Scale reports how many instances of process type typ should run.
func (a App) Scale(typ string) int {
	if typ == "release" {
		return 0
	}
	if n, ok := a.Formation[typ]; ok {
		return n
	}
	return 1
}

// Release is one deployable state of an app: a slug plus a config snapshot.
// A build makes a release, and so does every config change.
type Release struct {
	App     string `json:"app"`
	Version int    `json:"version"`
	// Slug is the version of the release whose build this release runs.
	Slug      int               `json:"slug"`
	Commit    string            `json:"commit,omitempty"`
	Buildpack string            `json:"buildpack,omitempty"`
	Processes map[string]string `json:"processes"`
	Config    map[string]string `json:"config,omitempty"`
	// Healthchecks are the app.json checks new instances must pass.
	Healthchecks map[string][]Healthcheck `json:"healthchecks,omitempty"`
	// Cron are the app.json jobs the release runs on their schedules.
	Cron        []CronJob `json:"cron,omitempty"`
	Description string    `json:"description"`
	// Status is StatusSucceeded, or StatusFailed for a release that never
	// went live.
	Status  string    `json:"status,omitempty"`
	By      string    `json:"by,omitempty"`
	Created time.Time `json:"created"`
}

// Release statuses.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Key is an SSH public key of a user: who holds it acts as that user.
// Its name is unique among the user's keys.
type Key struct {
	User        string    `json:"user"`
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"` // SHA256:...
	Line        string    `json:"line"`        // authorized_keys format
	Added       time.Time `json:"added"`
}

var (
	envKeyRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	keyNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
)

// ValidProcessType reports whether typ can name a process type: letters,
// digits, dashes and underscores, as in a Procfile.
func ValidProcessType(typ string) bool { return appname.ValidType(typ) }

// ValidateAppName checks that name can be an app (see package appname for
// the rule and why).
func ValidateAppName(name string) error {
	if !appname.Valid(name) {
		return fmt.Errorf("%w: app name %q: use 1 to 63 lowercase letters, digits and dashes, starting with a letter and not ending with a dash", ErrInvalid, clip(name))
	}
	return nil
}

// ValidateKeyName checks the name given to an SSH key.
func ValidateKeyName(name string) error {
	if !keyNameRE.MatchString(name) {
		return fmt.Errorf("%w: key name %q: use up to 64 letters, digits, dots, dashes, underscores and @", ErrInvalid, clip(name))
	}
	return nil
}

// reservedKeys are set by the platform for every process.
var reservedKeys = []string{"PORT", "PS"}

// ParseConfigVars parses KEY=value arguments as given to config:set.
// Nothing is returned unless every argument is valid.
func ParseConfigVars(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: no KEY=value given", ErrInvalid)
	}
	vars := make(map[string]string, len(args))
	for _, arg := range args {
		k, v, ok := strings.Cut(arg, "=")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not KEY=value", ErrInvalid, clip(arg))
		}
		if err := ValidateConfigKey(k); err != nil {
			return nil, err
		}
		if strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("%w: value of %s contains a NUL byte", ErrInvalid, k)
		}
		vars[k] = v
	}
	return vars, nil
}

// ValidateConfigKey checks that k can be an environment variable name.
func ValidateConfigKey(k string) error {
	if !envKeyRE.MatchString(k) || len(k) > 256 {
		return fmt.Errorf("%w: config key %q: use letters, digits and underscores, not starting with a digit", ErrInvalid, clip(k))
	}
	if slices.Contains(reservedKeys, k) {
		return fmt.Errorf("%w: config key %s is set by nua for each process", ErrInvalid, k)
	}
	return nil
}

// clip shortens user input quoted back in an error message.
func clip(s string) string { return excerpt.Of(s) }

// withVars returns a copy of config with set applied and unset removed.
func withVars(config, set map[string]string, unset []string) map[string]string {
	out := maps.Clone(config)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, set)
	for _, k := range unset {
		delete(out, k)
	}
	return out
}
