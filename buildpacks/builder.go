package buildpacks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/runtime/sandbox"
)

// DefaultTimeout is a build's time limit unless WithTimeout sets another.
const DefaultTimeout = 15 * time.Minute

// Builder detects which buildpack fits a source tree and builds it.
type Builder struct {
	buildpacks    []Buildpack
	timeout       time.Duration
	protected     []string
	shared        []string // inside protected, but slugs may link there
	buildpacksDir string   // "" = no buildpack from the server's disk
	limits        sandbox.Limits
}

// Warm lets every buildpack that can prepare its shared caches do so.
func (b *Builder) Warm(ctx context.Context) error {
	var errs []error
	for _, bp := range b.buildpacks {
		if w, ok := bp.(Warmer); ok {
			errs = append(errs, w.Warm(ctx))
		}
	}
	return errors.Join(errs...)
}

// Option configures a Builder.
type Option func(*Builder)

// WithTimeout sets the time limit of each build; d <= 0 keeps the default.
func WithTimeout(d time.Duration) Option {
	return func(b *Builder) {
		if d > 0 {
			b.timeout = d
		}
	}
}

// WithProtected names dirs no build may reference, such as nua's data
// dir: a slug symlink into them fails the build, and so does a local
// buildpack (a path or a file:// URL) inside them. The app's cache is
// always protected.
func WithProtected(dirs ...string) Option {
	return func(b *Builder) {
		for _, d := range dirs {
			if abs, err := filepath.Abs(d); err == nil && d != "" {
				b.protected = append(b.protected, abs)
			}
		}
	}
}

// WithShared names dirs inside a protected one that slugs may link into:
// the runtime cache, whose read-only Node.js versions apps share.
func WithShared(dirs ...string) Option {
	return func(b *Builder) {
		for _, d := range dirs {
			if abs, err := filepath.Abs(d); err == nil && d != "" {
				b.shared = append(b.shared, abs)
			}
		}
	}
}

// WithLimits sets the sandbox limits of each build (sandbox.DefaultBuild
// unless set).
func WithLimits(l sandbox.Limits) Option {
	return func(b *Builder) { b.limits = l }
}

// WithBuildpacksDir names the one directory whose buildpacks a build may
// use by path or file:// URL (in .buildpacks or BUILDPACK_URL), symlinks
// resolved. Without it a build may use none: a push must not make nua read
// a path of its choosing.
func WithBuildpacksDir(dir string) Option {
	return func(b *Builder) {
		if abs, err := filepath.Abs(dir); err == nil && dir != "" {
			b.buildpacksDir = abs
		}
	}
}

// New returns a Builder that tries bps in order: the first buildpack whose
// Detect matches builds the app.
func New(bps []Buildpack, opts ...Option) *Builder {
	b := &Builder{buildpacks: slices.Clone(bps), timeout: DefaultTimeout, limits: sandbox.DefaultBuild}
	for _, opt := range opts {
		opt(b)
	}
	return b
}

// Build builds the source in dir src in place, using cache as the app's
// build cache (created if missing) and env as the app's config, and writes
// the build output to w. A Procfile in src is read and checked before
// anything is built; its entries override the buildpacks' default process
// types. The external buildpacks named by the BUILDPACK_URL config or a
// .buildpacks file build the app if there are any; otherwise the first
// built-in buildpack that detects it does. Build tools run with HOME and
// TMPDIR in cache; a slug with a symlink out of itself is refused. The
// build is cancelled when ctx ends or the time limit passes.
func (b *Builder) Build(ctx context.Context, src, cache string, env []string, sb *sandbox.Sandbox, w io.Writer) (Result, error) {
	out := NewOutput(w)
	src, cache, err := prepareDirs(src, cache)
	if err != nil {
		return Result{}, err
	}
	if err := errors.Join(sb.Own(src), sb.Own(cache)); err != nil {
		return Result{}, fmt.Errorf("build: %w", err)
	}
	procfile, err := readProcfile(src)
	if err != nil {
		return Result{}, err
	}
	build := &Build{Src: src, Cache: cache, Meta: MetaDir(src), Env: slices.Clone(env), Out: out, Processes: map[string]string{}}
	if err := os.RemoveAll(build.Meta); err != nil { // a failed build's
		return Result{}, fmt.Errorf("clear slug metadata: %w", err)
	}
	if sb != nil {
		if build.group, err = sb.Group("build", b.limits); err != nil {
			return Result{}, err
		}
		defer build.group.Release() // what the build left running dies with it
	}
	list, from, err := sources(src, build)
	if err != nil {
		return Result{}, err
	}
	var bp Buildpack // a built-in one, when no external buildpacks are named
	if list == nil {
		var c choice
		if c, err = b.choose(src, build); err != nil {
			return Result{}, err
		}
		bp = c.bp
		out.Step("%s app detected", bp.Name())
		for _, line := range c.lines() {
			out.Info("%s", line)
		}
		if err := checkAvailable(ctx, bp, c.why); err != nil {
			return Result{}, err
		}
	}
	if build.Home, build.Tmp, err = prepareToolDirs(cache); err != nil {
		return Result{}, err
	}
	if err := errors.Join(sb.Own(build.Home), sb.Own(build.Tmp)); err != nil {
		return Result{}, fmt.Errorf("build: %w", err)
	}
	defer os.RemoveAll(build.Tmp)

	ctx, cancel := context.WithTimeoutCause(ctx, b.timeout, ErrTimeout)
	defer cancel()
	name, err := b.run(ctx, build, list, from, bp)
	if err := b.buildError(ctx, name, list, from, err); err != nil {
		return Result{}, err
	}
	if err := checkLinks(src, b.protectedDirs(build), b.shared); err != nil {
		return Result{}, fmt.Errorf("check the %s slug: %w", name, err)
	}
	procs, err := discover(out, build.Processes, procfile)
	if err != nil {
		return Result{}, err
	}
	if w, ok := bp.(ProcessWrapper); ok {
		if procs, err = w.WrapProcesses(build, procs); err != nil {
			return Result{}, fmt.Errorf("build %s app: %w", name, err)
		}
	}
	return Result{Buildpack: name, Processes: procs, Types: slices.Sorted(maps.Keys(procs)), src: src}, nil
}

// run builds with the external buildpacks of list or, when there are
// none, with bp, the built-in buildpack that detected the app. It returns
// the name of what built the app.
func (b *Builder) run(ctx context.Context, build *Build, list []Source, from string, bp Buildpack) (string, error) {
	if list != nil {
		return b.buildExternal(ctx, build, list, from)
	}
	return bp.Name(), bp.Build(ctx, build)
}

// buildError names what failed in the error of a build: the time limit,
// a cancelled build, or the error of the buildpacks that ran.
func (b *Builder) buildError(ctx context.Context, name string, list []Source, from string, err error) error {
	what := name + " app"
	if list != nil {
		what = "app with the buildpacks of " + from
	}
	switch {
	case errors.Is(context.Cause(ctx), ErrTimeout):
		return fmt.Errorf("build %s: %w after %s", what, ErrTimeout, b.timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("build %s: %w", what, ctx.Err())
	case err != nil && name == "" && list == nil:
		return err // nothing detected the app
	case err != nil:
		return fmt.Errorf("build %s: %w", what, err)
	}
	return nil
}

// prepareDirs makes src and cache absolute, checks that src is a directory
// and creates cache.
func prepareDirs(src, cache string) (string, string, error) {
	if src == "" || cache == "" {
		return "", "", errors.New("build: source and cache dirs are required")
	}
	src, err := filepath.Abs(src)
	if err != nil {
		return "", "", fmt.Errorf("resolve source dir: %w", err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return "", "", fmt.Errorf("open source dir: %w", err)
	}
	if !fi.IsDir() {
		return "", "", fmt.Errorf("open source dir: %s is not a directory", src)
	}
	if cache, err = filepath.Abs(cache); err != nil {
		return "", "", fmt.Errorf("resolve cache dir: %w", err)
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return "", "", fmt.Errorf("create cache dir: %w", err)
	}
	return src, cache, nil
}

// readProcfile parses src/Procfile; no Procfile is not an error.
func readProcfile(src string) (procman.Procfile, error) {
	path := filepath.Join(src, "Procfile")
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Procfile: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read Procfile: %w: not a regular file (a symlink or a directory?)", procman.ErrProcfile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read Procfile: %w", err)
	}
	defer f.Close()
	return procman.ParseProcfile(f)
}

// looksFor lists what bps detect: "go.mod (Go), index.html
// (static site) or a Procfile".
func looksFor(bps []Buildpack) string {
	var items []string
	for _, bp := range bps {
		if lf, ok := bp.(LooksFor); ok {
			items = append(items, lf.LooksFor())
		} else {
			items = append(items, "an app for the "+bp.Name()+" buildpack")
		}
	}
	switch len(items) {
	case 0:
		return "nothing (no buildpacks are configured)"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// discover merges the buildpack's default process types with the
// Procfile's entries (the Procfile wins) and reports them.
func discover(out *Output, defaults map[string]string, procfile procman.Procfile) (map[string]string, error) {
	procs := make(map[string]string, len(defaults)+len(procfile))
	var declared, defaulted []string
	for typ, cmd := range defaults {
		if !procman.ValidType(typ) || strings.TrimSpace(cmd) == "" {
			return nil, fmt.Errorf("discover process types: buildpack default %q: %q is not a valid process", typ, cmd)
		}
		procs[typ] = cmd
	}
	for _, e := range procfile {
		procs[e.Type] = e.Command
		declared = append(declared, e.Type)
	}
	for typ := range defaults {
		if _, ok := procfile.Lookup(typ); !ok {
			defaulted = append(defaulted, typ)
		}
	}
	out.Step("Discovering process types")
	if len(declared) > 0 {
		slices.Sort(declared)
		out.Info("Procfile declares types -> %s", strings.Join(declared, ", "))
	}
	if len(defaulted) > 0 {
		slices.Sort(defaulted)
		out.Info("Default types for buildpack -> %s", strings.Join(defaulted, ", "))
	}
	if len(procs) == 0 {
		return nil, fmt.Errorf("%w: add a Procfile that declares a web process, e.g. \"web: bin/server\"", ErrNoProcess)
	}
	if len(procs) > procman.MaxProcessTypes {
		return nil, fmt.Errorf("discover process types: the Procfile and the buildpack's defaults make %d process types, more than the %d an app may have: declare fewer in the Procfile",
			len(procs), procman.MaxProcessTypes)
	}
	return procs, nil
}
