// Package buildpacks is nua's build engine. It turns the checked-out source
// of a push into a slug: the same directory, built in place and ready to run,
// plus the process types that run it (the buildpack's defaults merged with
// the app's Procfile).
//
// A Builder tries its buildpacks in order; the first whose Detect matches
// builds the app. Built-in buildpacks live in the toolchains packages.
package buildpacks

import (
	"context"
	"errors"

	"github.com/nua-paas/nua/runtime/sandbox"
)

// Errors returned by Builder.Build; callers test for them with errors.Is.
var (
	// ErrNoApp means no buildpack recognised the source. The returned error
	// wraps it with the list of what nua looks for.
	ErrNoApp = errors.New("no app detected")
	// ErrNoProcess means the build produced no process type at all.
	ErrNoProcess = errors.New("no process types")
	// ErrTimeout means the build ran past the Builder's time limit.
	ErrTimeout = errors.New("build timed out")
	// ErrOutside means the built slug points outside itself: a symlink
	// leaves the slug or points into nua's own dirs.
	ErrOutside = errors.New("slug points outside its dir")
	// ErrBuildpackURL means a line of .buildpacks or BUILDPACK_URL is not
	// a buildpack nua can use.
	ErrBuildpackURL = errors.New("bad buildpack URL")
	// ErrUnavailable means the backend chosen for an app cannot run on
	// this server: its tool or engine is missing. The error says what to
	// install.
	ErrUnavailable = errors.New("build backend unavailable")
	// ErrImageRef means a name given for an image (a CNB builder) is not
	// an image reference nua accepts.
	ErrImageRef = errors.New("bad image name")
)

// Buildpack is one way to build an app. Built-in toolchains implement it.
type Buildpack interface {
	// Name is shown to the pusher as "-----> <Name> app detected".
	Name() string
	// Detect reports whether this buildpack can build the source in dir src.
	Detect(src string) (bool, error)
	// Build builds b.Src in place and sets default process types in
	// b.Processes. Tool output goes to b.Out.Indent(); the returned error
	// names the step that failed.
	Build(ctx context.Context, b *Build) error
}

// LooksFor is an optional interface for a Buildpack: it describes what
// Detect looks for, e.g. "go.mod (Go)". When no buildpack detects an app the
// error lists these descriptions so the pusher knows what to add.
type LooksFor interface {
	LooksFor() string
}

// Warmer is an optional interface for a Buildpack: Warm prepares shared
// caches ahead of the first build, e.g. when the server starts.
type Warmer interface {
	Warm(ctx context.Context) error
}

// Doctor is an optional interface for a Buildpack: Doctor reports whether
// the host has the runtimes and tools the buildpack's builds need, with
// their versions. `nua doctor` lists these checks.
type Doctor interface {
	Doctor(ctx context.Context) Check
}

// Check is what a Doctor found on the host.
type Check struct {
	Tools   []Tool // the tools found, in the order the buildpack uses them
	Problem string // what is missing and how to install it; "" = ready
}

// Tool is one program a buildpack runs.
type Tool struct {
	Name    string // e.g. "ruby"
	Version string // e.g. "3.1.2"
	Path    string // where it was found
}

// Build is one build in progress, handed to the buildpack that detected it.
type Build struct {
	Src       string            // source dir (absolute); built in place, becomes the slug
	Cache     string            // per-app cache dir (absolute), kept between builds of the app
	Home      string            // HOME of build tools: a dir in Cache, kept between builds
	Tmp       string            // TMPDIR of build tools: emptied before and after each build
	Env       []string          // the app's config as KEY=VALUE
	Out       *Output           // build output, shown to the pusher
	Processes map[string]string // default process types set by the buildpack, e.g. "web"
	// Meta is the slug's metadata dir (MetaDir(Src)), outside the slug:
	// where a buildpack records what nua, not the app, reads back (see
	// MetaDir). It starts absent; a buildpack creates it.
	Meta string

	// group is the build's sandbox cgroup: every tool of the build runs
	// in it and it is killed as a whole at the end or at the time limit.
	group *sandbox.Group
	// seeded are the caches Seed made: their files stay the daemon's.
	seeded []string
}

// Confined reports whether the build's tools run in the app's sandbox
// (under the app's own uid), so shared caches must not be written by them.
func (b *Build) Confined() bool { return b.group != nil && b.group.Confined() }

// Seed makes dst, in a confined build's cache, a cache of the app's own
// that starts with read-only links to the entries of the shared cache src
// (see sandbox.Sandbox.Seed). It does nothing for an unconfined build.
func (b *Build) Seed(dst, src string) error {
	if !b.Confined() {
		return nil
	}
	b.seeded = append(b.seeded, dst)
	return b.group.Seed(dst, src)
}

// own gives the app what nua wrote in the build's dirs since the last
// tool ran, so that the next one, running as the app, can use it.
func (b *Build) own() error {
	if !b.Confined() {
		return nil
	}
	return errors.Join(b.group.OwnTree(b.Src, b.seeded...), b.group.OwnTree(b.Cache, b.seeded...))
}

// Getenv returns the value of key in the app's config, the last one winning.
func (b *Build) Getenv(key string) (string, bool) {
	for i := len(b.Env) - 1; i >= 0; i-- {
		k, v, ok := cutEnv(b.Env[i])
		if ok && k == key {
			return v, true
		}
	}
	return "", false
}

func cutEnv(kv string) (key, value string, ok bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], i > 0
		}
	}
	return "", "", false
}

// Result describes a finished build.
type Result struct {
	Buildpack string            // Name of the buildpack that built the app
	Processes map[string]string // the buildpack's defaults overridden by the Procfile's entries
	Types     []string          // the process types, sorted
	src       string            // the dir built, whose metadata Place moves
}
