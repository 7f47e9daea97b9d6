// Package toolchains lists nua's built-in buildpacks. Each toolchain lives
// in its own package under this one.
package toolchains

import (
	"cmp"
	"os"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/cnb"
	"github.com/nua-paas/nua/toolchains/docker"
	"github.com/nua-paas/nua/toolchains/generic"
	"github.com/nua-paas/nua/toolchains/golang"
	"github.com/nua-paas/nua/toolchains/internal/npmreg"
	"github.com/nua-paas/nua/toolchains/nix"
	"github.com/nua-paas/nua/toolchains/node"
	"github.com/nua-paas/nua/toolchains/python"
	"github.com/nua-paas/nua/toolchains/ruby"
	"github.com/nua-paas/nua/toolchains/rust"
	"github.com/nua-paas/nua/toolchains/static"
)

// Config holds settings of the built-in toolchains.
type Config struct {
	// GoBuildCache is a Go build cache shared by all apps; empty keeps one
	// per app.
	GoBuildCache string
	// PythonSeeds holds the fresh virtualenvs Python builds start from,
	// shared by all apps; empty keeps them per app.
	PythonSeeds string
	// Nua is the nua program, by absolute path, that the commands nua
	// generates run (a container's runner, a static site's server):
	// never one found on the app's PATH, where a pushed bin/nua would
	// come first. "" is the running program.
	Nua string
	// TrustedBuilders lists the CNB builder images the operator trusts
	// (builders:trust); a CNB build with another fails. nil trusts none.
	TrustedBuilders func() ([]string, error)
	// AnyBuilder trusts every CNB builder on the engine: for `nua build`
	// on a laptop, whose user is its operator.
	AnyBuilder bool
	// BuildpacksDir is the only dir project.toml's buildpacks may come
	// from by path (nua server --buildpacks-dir); "" allows none.
	BuildpacksDir string
	// RuntimesDir caches the runtimes apps ask for that the server lacks:
	// Node.js, npm, yarn and pnpm versions from the npm registry
	// (NPM_CONFIG_REGISTRY, else the public one), Go toolchains through
	// the module proxy; "" provides none.
	RuntimesDir string
}

// Builtin returns the built-in buildpacks in detection order: the first one
// that detects an app builds it. The language toolchains come first, as on
// Heroku: a repository that ships a Dockerfile or a flake.nix for other
// platforms beside its go.mod is still a Go app, built natively (the build
// says what it ignored; NUA_BUILDER or heroku.yml chooses a backend). Then
// the backends, for apps no language toolchain recognises; then the static
// site, so a Node.js or Python app with an index.html is not taken for
// one; generic comes last, since apps of the other kinds may have a
// Procfile too.
func Builtin(cfg Config) []buildpacks.Buildpack {
	c, d := cnb.New(), docker.New()
	c.Nua, d.Nua = cfg.Nua, cfg.Nua
	c.Trusted, c.AnyBuilder, c.BuildpacksDir = cfg.TrustedBuilders, cfg.AnyBuilder, cfg.BuildpacksDir
	n := node.New()
	if cfg.RuntimesDir != "" {
		n.Runtimes = &npmreg.Cache{Dir: cfg.RuntimesDir, Registry: cmp.Or(os.Getenv("NPM_CONFIG_REGISTRY"), os.Getenv("npm_config_registry"))}
	}
	return []buildpacks.Buildpack{
		&golang.Toolchain{BuildCache: cfg.GoBuildCache, RuntimesDir: cfg.RuntimesDir},
		n,
		&python.Toolchain{SeedDir: cfg.PythonSeeds},
		ruby.New(),
		rust.New(),
		nix.New(),
		c,
		d,
		&static.Toolchain{Nua: cfg.Nua},
		generic.New(),
	}
}
