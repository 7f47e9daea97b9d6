package python

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
	"github.com/nua-paas/nua/toolchains/internal/treecache"
)

// maxRequirements bounds the requirements.txt the toolchain reads.
const maxRequirements = 1 << 20

// installKind is how an app's dependencies get installed.
type installKind int

const (
	withRequirements installKind = iota // pip install -r requirements.txt
	withProject                         // pip install . (pyproject.toml or setup.py)
	withUV                              // uv sync (uv.lock)
)

// installer is the chosen way to install.
type installer struct {
	kind installKind
	tool string // uv's path
	note string // why, when the choice may surprise
}

// choose picks how to install the app's dependencies: uv.lock with uv on
// the server, else requirements.txt, else the project itself. A uv.lock
// without uv, or a Pipfile alone, is an error that says what to do.
func choose(src string) (installer, error) {
	has := map[string]bool{}
	for _, name := range append(manifests(), "uv.lock", "Pipfile.lock") {
		ok, err := srcfile.Exists(src, name)
		if err != nil {
			return installer{}, err
		}
		has[name] = ok
	}
	if has["uv.lock"] {
		if uv, err := exec.LookPath("uv"); err == nil {
			return installer{kind: withUV, tool: uv}, nil
		}
		if !has["requirements.txt"] {
			return installer{}, errors.New("uv.lock found but uv is not installed on the server: install uv (https://docs.astral.sh/uv/), or add a requirements.txt (uv export > requirements.txt)")
		}
	}
	switch {
	case has["requirements.txt"] && has["uv.lock"]:
		return installer{kind: withRequirements, note: "uv.lock found but uv is not installed on the server: installing requirements.txt with pip"}, nil
	case has["requirements.txt"]:
		return installer{kind: withRequirements}, nil
	case has["pyproject.toml"] || has["setup.py"]:
		return installer{kind: withProject}, nil
	}
	return installer{}, errors.New("Pipfile is not supported yet: use requirements.txt (pipenv requirements > requirements.txt)")
}

// pipRequirements installs requirements.txt into a new virtualenv, or
// restores the virtualenv of the last build when requirements.txt and
// Python are unchanged and name nothing that can change behind them.
func (t *Toolchain) pipRequirements(ctx context.Context, b *buildpacks.Build, py python, venv string, env []string) error {
	b.Out.Step("Installing requirements with pip")
	data, err := srcfile.Read(b.Src, "requirements.txt", maxRequirements)
	if err != nil {
		return err
	}
	key := treecache.Key("venv", py.exe, py.version, string(data), pipEnv(b))
	cache := treecache.Cache{Dir: filepath.Join(b.Cache, "python", "venv"), Link: true}
	reusable, why := reusable(string(data))
	if !reusable {
		b.Out.Info("requirements.txt names %s: installing on every build", why)
	} else if ok, err := cache.Restore(key, venv); err != nil {
		b.Out.Warn("%v: installing instead", err)
	} else if ok {
		b.Out.Info("Requirements unchanged: reusing the virtualenv")
		return nil
	}
	if err := t.makeVenv(ctx, b, py, venv, env); err != nil {
		return err
	}
	if err := pip(ctx, b, venv, env, "-r", "requirements.txt"); err != nil {
		return err
	}
	if err := relocate(venv); err != nil {
		return err
	}
	if reusable {
		if err := cache.Save(key, venv); err != nil {
			b.Out.Warn("%v: the next build installs again", err)
		}
	}
	return nil
}

// pipProject installs the app's own project (pyproject.toml or setup.py)
// into a new virtualenv. Its source changes with every push, so nothing is
// reused but pip's download cache.
func (t *Toolchain) pipProject(ctx context.Context, b *buildpacks.Build, py python, venv string, env []string) error {
	b.Out.Step("Installing the project with pip")
	if err := t.makeVenv(ctx, b, py, venv, env); err != nil {
		return err
	}
	if err := pip(ctx, b, venv, env, "."); err != nil {
		return err
	}
	return relocate(venv)
}

// pip runs the virtualenv's pip install with args.
func pip(ctx context.Context, b *buildpacks.Build, venv string, env []string, args ...string) error {
	args = append([]string{"install", "--no-input", "--progress-bar", "off"}, args...)
	b.Out.Info("pip %s", strings.Join(args, " "))
	start := time.Now()
	cmd := b.Command(ctx, filepath.Join(venv, "bin", "python"), append([]string{"-m", "pip"}, args...)...)
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pip install: %w", err)
	}
	b.Out.Info("Installed in %s", time.Since(start).Round(10*time.Millisecond))
	return nil
}

// uvSync installs the locked dependencies of uv.lock with uv, which makes
// the virtualenv itself with the host's Python.
func uvSync(ctx context.Context, b *buildpacks.Build, uv string, py python, venv string, env []string) error {
	b.Out.Step("Installing dependencies with uv")
	args := []string{"sync", "--locked", "--no-dev", "--python", py.exe}
	b.Out.Info("uv %s", strings.Join(args[:len(args)-2], " "))
	start := time.Now()
	cmd := b.Command(ctx, uv, args...)
	cmd.Env = append(env,
		"UV_PROJECT_ENVIRONMENT="+venv,
		"UV_CACHE_DIR="+filepath.Join(b.Cache, "uv"),
		"UV_PYTHON_DOWNLOADS=never",
	)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("uv sync: %w", err)
	}
	b.Out.Info("Installed in %s", time.Since(start).Round(10*time.Millisecond))
	return relocate(venv)
}

// pipEnv is the part of the app's config that changes what pip installs,
// as one string for the cache key.
func pipEnv(b *buildpacks.Build) string {
	var vars []string
	for _, kv := range b.Env {
		if strings.HasPrefix(kv, "PIP_") {
			vars = append(vars, kv)
		}
	}
	slices.Sort(vars)
	return strings.Join(vars, "\n")
}

// reusable reports whether an install of requirements can be reused while
// the file is unchanged: not when it names local paths, other files or
// version control references, whose content can change behind it. why
// says what it names.
func reusable(requirements string) (ok bool, why string) {
	for _, line := range strings.Split(requirements, "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if w := changeable(line); w != "" {
			return false, fmt.Sprintf("%s (%q)", w, line)
		}
	}
	return true, ""
}

// changeable says what a requirements line names whose content can change
// while the line does not, or "" when it names only released packages.
func changeable(line string) string {
	for _, opt := range []string{"-r", "--requirement", "-c", "--constraint"} {
		if strings.HasPrefix(line, opt) {
			return "another file"
		}
	}
	if strings.HasPrefix(line, "-e") || strings.HasPrefix(line, "--editable") {
		return "an editable install"
	}
	target := line
	if _, url, ok := strings.Cut(line, "@"); ok && !strings.HasPrefix(line, "-") {
		target = strings.TrimSpace(url)
	}
	for _, vcs := range []string{"git+", "hg+", "svn+", "bzr+"} {
		if strings.HasPrefix(target, vcs) {
			return "a version control reference"
		}
	}
	if strings.HasPrefix(target, ".") || strings.HasPrefix(target, "/") || strings.HasPrefix(target, "~") || strings.HasPrefix(target, "file:") {
		return "a local path"
	}
	return ""
}
