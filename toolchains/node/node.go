// Package node is the built-in buildpack for Node.js apps: a package.json
// at the root. Dependencies are installed by the package manager whose
// lockfile the app has (npm ci, yarn install --frozen-lockfile or pnpm
// install --frozen-lockfile), the build script runs if there is one, and
// the web process is `npm start`.
//
// The app's build cache holds the package manager's download cache and the
// node_modules of the last install: a build whose lockfile (and the
// dependency fields of package.json, the node version and the install
// settings in the app's config) is unchanged restores node_modules from it
// and skips the install.
package node

import (
	"context"
	"path/filepath"
	"slices"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/npmreg"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

var _ buildpacks.Buildpack = (*Toolchain)(nil)

// WebCommand is the default web process of an app with a start script.
const WebCommand = "npm start"

// Toolchain builds Node.js apps.
type Toolchain struct {
	// Runtimes provides the Node.js, npm, yarn and pnpm versions an app
	// asks for that the server lacks; nil builds with the server's alone.
	Runtimes *npmreg.Cache
}

// New returns the Node.js toolchain.
func New() *Toolchain { return &Toolchain{} }

// Name returns "Node.js".
func (*Toolchain) Name() string { return "Node.js" }

// LooksFor says what Detect looks for.
func (*Toolchain) LooksFor() string { return "package.json (Node.js)" }

// Detect reports whether src has a package.json.
func (*Toolchain) Detect(src string) (bool, error) {
	return srcfile.Present(src, "package.json")
}

// Build installs the app's dependencies, runs its build script and sets
// the default web process.
func (t *Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	data, err := srcfile.Read(b.Src, "package.json", maxPackageJSON)
	if err != nil {
		return err
	}
	p, err := parsePackage(data)
	if err != nil {
		return err
	}
	m, lock, err := chooseManager(b.Src, p)
	if err != nil {
		return err
	}
	env := buildEnv(b, m)
	node, err := t.findNode(ctx, b, p, env)
	if err != nil {
		return err
	}
	if node.provided {
		env = withBin(b, env)
	}
	mPath, err := t.findManager(ctx, b, m, lock, p, node, env)
	if err != nil {
		return err
	}
	if err := install(ctx, b, m, mPath, lock, p, node.version, env); err != nil {
		return err
	}
	if _, ok := p.Scripts["build"]; ok {
		b.Out.Step("Running build script")
		if err := run(ctx, b, env, "Built", mPath, m.name, "run", "build"); err != nil {
			return err
		}
	}
	return setWeb(b, p)
}

// hostVars are the server's settings for Node.js tools that builds keep:
// the registry and certificates npm uses, where corepack keeps the package
// managers it installed.
var hostVars = []string{
	"NODE_EXTRA_CA_CERTS", "COREPACK_HOME",
	"NPM_CONFIG_REGISTRY", "npm_config_registry", "NPM_CONFIG_CAFILE", "npm_config_cafile",
}

// buildEnv is the environment of the build's tools: the scrubbed one of
// every build (b.ToolEnv) with the host's Node.js settings, then the app's
// config, then the package manager's cache in the app's build cache.
func buildEnv(b *buildpacks.Build, m manager) []string {
	return b.ToolEnv(slices.Concat(buildpacks.HostEnv(hostVars...), b.Env,
		[]string{m.cacheVar + "=" + filepath.Join(b.Cache, m.cacheDir)})...)
}

// setWeb makes `npm start` the web process when package.json has a start
// script, or a server.js for npm start to run.
func setWeb(b *buildpacks.Build, p pkg) error {
	if _, ok := p.Scripts["start"]; ok {
		b.Processes["web"] = WebCommand
		return nil
	}
	ok, err := srcfile.Present(b.Src, "server.js")
	if err != nil {
		return err
	}
	if ok {
		b.Processes["web"] = WebCommand
		return nil
	}
	if procfile, _ := srcfile.Present(b.Src, "Procfile"); !procfile {
		b.Out.Warn("No start script in package.json and no server.js: add a start script or declare the web process in a Procfile (web: node app.js)")
	}
	return nil
}
