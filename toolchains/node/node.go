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
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

var _ buildpacks.Buildpack = (*Toolchain)(nil)

// WebCommand is the default web process of an app with a start script.
const WebCommand = "npm start"

// Toolchain builds Node.js apps.
type Toolchain struct{}

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
	m, lock, err := chooseManager(b.Src)
	if err != nil {
		return err
	}
	env := buildEnv(b, m)
	node, err := findNode(ctx, b, p, env)
	if err != nil {
		return err
	}
	mPath, err := findManager(ctx, m, lock, p, env)
	if err != nil {
		return err
	}
	if err := install(ctx, b, m, mPath, lock, p, node, env); err != nil {
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

// findNode looks node up on PATH and checks its version against what the
// app asks for.
func findNode(ctx context.Context, b *buildpacks.Build, p pkg, env []string) (*semver.Version, error) {
	pins, err := nodePins(b, p)
	if err != nil {
		return nil, err
	}
	path, err := exec.LookPath("node")
	if err != nil {
		want := "Node.js"
		if len(pins) > 0 {
			want += " " + pins[0][1]
		}
		return nil, fmt.Errorf("node not found on PATH: install %s on the server (Debian: apt-get install nodejs npm)", want)
	}
	v, err := toolVersion(ctx, path, env)
	if err != nil {
		return nil, err
	}
	var asked []string
	for _, pin := range pins {
		if err := checkRange("node", pin[0], pin[1], v); err != nil {
			return nil, err
		}
		asked = append(asked, pin[0]+": "+pin[1])
	}
	if len(asked) == 0 {
		asked = append(asked, "no version asked for")
	}
	b.Out.Step("Using node %s (%s)", v.Original(), strings.Join(asked, ", "))
	return v, nil
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
