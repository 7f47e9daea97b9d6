package buildpacks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/nua-paas/nua/runtime/sandbox"
)

// BuilderKey is the app config key that forces a build backend: "native"
// (the language toolchains), or a backend's name ("docker", "nix", "cnb").
const BuilderKey = "NUA_BUILDER"

// Native is the backend of buildpacks that do not implement Backend.
const Native = "native"

// Backend is an optional interface for a Buildpack that builds through an
// outside engine (Docker, Nix) rather than a language toolchain.
type Backend interface {
	// Backend names the backend, the value of NUA_BUILDER that forces it.
	Backend() string
	// Available reports whether the engine can build here: nil, or an
	// error saying what is missing and how to get it.
	Available(ctx context.Context) error
}

// Placer is an optional interface for a Buildpack: Place is called once the
// slug it built has moved to its final directory, for what must refer to
// the slug by path (a Nix GC root, an image tag).
type Placer interface {
	Place(ctx context.Context, slug string) error
}

// Remover is an optional interface for a Buildpack: Remove frees what a
// slug holds outside its directory (store paths, images) before the slug
// is deleted. It must ignore slugs it did not build.
type Remover interface {
	Remove(ctx context.Context, slug string) error
}

// backendOf returns bp's backend name.
func backendOf(bp Buildpack) string {
	if b, ok := bp.(Backend); ok {
		return b.Backend()
	}
	return Native
}

// Backends lists the backend names the Builder knows, "native" first.
func (b *Builder) Backends() []string {
	names := []string{Native}
	for _, bp := range b.buildpacks {
		if n := backendOf(bp); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// Check reports each backend's availability, for `nua doctor`: native is
// always available.
func (b *Builder) Check(ctx context.Context) map[string]error {
	res := map[string]error{Native: nil}
	for _, bp := range b.buildpacks {
		if be, ok := bp.(Backend); ok {
			res[be.Backend()] = be.Available(ctx)
		}
	}
	return res
}

// candidates returns the buildpacks allowed by the app's NUA_BUILDER
// setting (all of them when it is unset).
func (b *Builder) candidates(forced string) ([]Buildpack, error) {
	if forced == "" {
		return b.buildpacks, nil
	}
	if !slices.Contains(b.Backends(), forced) {
		return nil, fmt.Errorf("%s=%q is not a build backend: use one of %s", BuilderKey, forced, strings.Join(b.Backends(), ", "))
	}
	var out []Buildpack
	for _, bp := range b.buildpacks {
		if backendOf(bp) == forced {
			out = append(out, bp)
		}
	}
	return out, nil
}

// checkAvailable fails a build by bp, when its engine is missing, with one
// line saying which backend was chosen, why, and what is missing.
func checkAvailable(ctx context.Context, bp Buildpack, why string) error {
	be, ok := bp.(Backend)
	if !ok {
		return nil
	}
	err := be.Available(ctx)
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s backend chosen (%s) but %v; or set %s=native to build without it",
		ErrUnavailable, be.Backend(), why, err, BuilderKey)
}

// Place moves the metadata of the build res to the slug's metadata dir
// and tells the buildpack that built res that its slug is now in dir
// slug.
func (b *Builder) Place(ctx context.Context, res Result, slug string) error {
	if res.src != "" {
		if err := moveMeta(res.src, slug); err != nil {
			return err
		}
	}
	for _, bp := range b.buildpacks {
		if p, ok := bp.(Placer); ok && bp.Name() == res.Buildpack {
			if err := p.Place(ctx, slug); err != nil {
				return fmt.Errorf("place %s build: %w", bp.Name(), err)
			}
		}
	}
	return nil
}

// Remove lets every buildpack free what slug holds outside its directory,
// before the slug is deleted, then deletes the slug's metadata dir. slug
// may name the metadata dir itself (a caller deleting every entry of a
// dir of slugs meets it first): the slug's builds are freed the same, so
// that deleting the metadata first loses nothing.
func (b *Builder) Remove(ctx context.Context, slug string) error {
	if s, ok := slugOfMeta(slug); ok {
		slug = s
	}
	var errs []error
	for _, bp := range b.buildpacks {
		if r, ok := bp.(Remover); ok {
			if err := r.Remove(ctx, slug); err != nil {
				errs = append(errs, fmt.Errorf("remove %s build: %w", bp.Name(), err))
			}
		}
	}
	errs = append(errs, os.RemoveAll(MetaDir(slug)))
	return errors.Join(errs...)
}

// ProcessWrapper is an optional interface for a Buildpack whose processes
// do not run in the host's shell (they run in containers): WrapProcesses
// gets the process types merged with the Procfile's and returns the
// commands procman runs instead.
type ProcessWrapper interface {
	WrapProcesses(b *Build, procs map[string]string) (map[string]string, error)
}

// OneOffWrapper is an optional interface for a Buildpack whose processes
// do not run in the host's shell: WrapOneOff returns the command line that
// runs argv, a one-off command, in the slug's environment (a container),
// and false for slugs it did not build.
type OneOffWrapper interface {
	WrapOneOff(slug string, argv []string) ([]string, bool)
}

// Limiter is an optional interface for a Buildpack whose processes do
// not run in the host's shell (containers): LimitCommand returns the
// command that runs process type typ of slug, whose command is cmd, within
// limits l, and false for slugs it did not build.
type Limiter interface {
	LimitCommand(slug, typ, cmd string, l sandbox.Limits) (string, bool)
}

// LimitCommand returns the command that runs process type typ of slug
// (whose command is cmd) within limits l: cmd itself for processes the
// sandbox confines, the container's limits for those a buildpack runs in
// containers.
func (b *Builder) LimitCommand(slug, typ, cmd string, l sandbox.Limits) string {
	for _, bp := range b.buildpacks {
		if lim, ok := bp.(Limiter); ok {
			if out, ok := lim.LimitCommand(slug, typ, cmd, l); ok {
				return out
			}
		}
	}
	return cmd
}

// Contained reports whether the slug's processes run in containers: then
// the container engine confines the app's code, and the commands the host
// runs for it are nua's own clients of the engine.
func (b *Builder) Contained(slug string) bool {
	for _, bp := range b.buildpacks {
		if w, ok := bp.(OneOffWrapper); ok {
			if _, ok := w.WrapOneOff(slug, nil); ok {
				return true
			}
		}
	}
	return false
}

// WrapOneOff returns the command line that runs the one-off command argv
// for the slug: argv itself unless a buildpack runs its slugs elsewhere.
func (b *Builder) WrapOneOff(slug string, argv []string) []string {
	for _, bp := range b.buildpacks {
		if w, ok := bp.(OneOffWrapper); ok {
			if out, ok := w.WrapOneOff(slug, argv); ok {
				return out
			}
		}
	}
	return argv
}
