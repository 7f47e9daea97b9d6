// Package python is the built-in buildpack for Python apps: a
// requirements.txt, pyproject.toml, setup.py or Pipfile at the root.
//
// Each build gets its own virtualenv in the slug, at .venv, made with the
// host's python3. Dependencies come from uv.lock (uv sync, when uv is on the
// server), requirements.txt (pip install -r) or the project itself (pip
// install .). Processes find the virtualenv through the slug's bin dir,
// which is first on their PATH: bin/python runs the virtualenv's Python and
// the virtualenv's commands (gunicorn...) are linked there. Scripts in
// .venv/bin find their Python relative to themselves, so the slug still
// runs after it is moved to its release dir.
//
// The app's build cache holds pip's download cache and the virtualenv of
// the last requirements.txt install: a build whose requirements.txt and
// Python are unchanged restores it and skips pip.
package python

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

var _ buildpacks.Buildpack = (*Toolchain)(nil)

// venvDir is where the virtualenv lives in the slug.
const venvDir = ".venv"

// Toolchain builds Python apps.
type Toolchain struct {
	// SeedDir holds the fresh virtualenvs (with pip) that builds start
	// from, one per Python version, shared by all apps: making one takes
	// seconds, copying it a fraction of that. Empty keeps them in each
	// app's build cache.
	SeedDir string
}

// New returns the Python toolchain, keeping its seed virtualenvs in each
// app's build cache.
func New() *Toolchain { return &Toolchain{} }

// Name returns "Python".
func (*Toolchain) Name() string { return "Python" }

// LooksFor says what Detect looks for.
func (*Toolchain) LooksFor() string {
	return "requirements.txt, pyproject.toml, setup.py or Pipfile (Python)"
}

// manifests are the files that make a tree a Python app.
func manifests() []string {
	return []string{"requirements.txt", "pyproject.toml", "setup.py", "Pipfile"}
}

// Detect reports whether src has one of the Python manifests.
func (*Toolchain) Detect(src string) (bool, error) {
	for _, name := range manifests() {
		if ok, err := srcfile.Present(src, name); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// Build makes the app's virtualenv, installs its dependencies into it,
// links its commands into bin and sets the default web process.
func (t *Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	env := buildEnv(b)
	how, err := choose(b.Src)
	if err != nil {
		return err
	}
	py, err := findPython(ctx, b, env)
	if err != nil {
		return err
	}
	venv := filepath.Join(b.Src, venvDir)
	if _, err := os.Lstat(venv); err == nil {
		b.Out.Warn("%s is in the repository: nua replaces it (add %s to .gitignore)", venvDir, venvDir)
		if err := os.RemoveAll(venv); err != nil {
			return fmt.Errorf("remove %s: %w", venvDir, err)
		}
	}
	if how.note != "" {
		b.Out.Warn("%s", how.note)
	}
	switch how.kind {
	case withUV:
		err = uvSync(ctx, b, how.tool, py, venv, env)
	case withRequirements:
		err = t.pipRequirements(ctx, b, py, venv, env)
	case withProject:
		err = t.pipProject(ctx, b, py, venv, env)
	}
	if err != nil {
		return err
	}
	if err := linkBin(b, venv); err != nil {
		return err
	}
	return setWeb(b)
}

// hostVars are the server's settings for Python tools that builds keep:
// which python3 a version manager gives, and the package index pip and uv
// use and how to reach it. Settings that would point Python elsewhere
// (PYTHONHOME, PYTHONPATH, VIRTUAL_ENV) are not among them.
var hostVars = []string{
	"PYENV_ROOT", "PYENV_VERSION",
	"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_DEFAULT_TIMEOUT",
	"UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX",
}

// buildEnv is the environment of the build's tools: the scrubbed one of
// every build (b.ToolEnv) with the host's Python settings, then the app's
// config, then pip's cache in the app's build cache.
func buildEnv(b *buildpacks.Build) []string {
	return b.ToolEnv(slices.Concat(buildpacks.HostEnv(hostVars...), b.Env, []string{
		"PIP_CACHE_DIR=" + filepath.Join(b.Cache, "pip"),
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
	})...)
}
