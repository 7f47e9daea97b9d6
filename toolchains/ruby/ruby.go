// Package ruby is the built-in buildpack for Ruby apps with a Gemfile: it
// installs the locked gems with the host's Bundler in deployment mode and
// runs a Rack app's config.ru with rackup.
//
// Gems are installed into the app's cache (ruby/bundle), so a redeploy
// installs only what changed, and skips Bundler when Gemfile, Gemfile.lock
// and the host's Ruby are the same as last time. The installed gems are
// then copied into the slug's vendor/bundle, with a .bundle/config that
// points Bundler there: each release owns its gems, and purging the cache
// never breaks a running release.
package ruby

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/internal/excerpt"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

var (
	_ buildpacks.Buildpack = (*Toolchain)(nil)
	_ buildpacks.Doctor    = (*Toolchain)(nil)
)

// WebCommand is the default web process of an app with a config.ru.
const WebCommand = "bundle exec rackup -p $PORT"

// installHint says how to get Ruby and Bundler on a Debian host.
const installHint = "apt-get install ruby ruby-bundler"

// Toolchain builds apps that have a Gemfile at their root.
type Toolchain struct{}

// New returns the Ruby toolchain.
func New() *Toolchain { return &Toolchain{} }

// Name returns "Ruby".
func (*Toolchain) Name() string { return "Ruby" }

// LooksFor says what Detect looks for.
func (*Toolchain) LooksFor() string { return "Gemfile (Ruby)" }

// Detect reports whether src has a Gemfile.
func (*Toolchain) Detect(src string) (bool, error) {
	return srcfile.Has(src, "Gemfile")
}

// Doctor reports the host's ruby and bundle commands and their versions.
func (*Toolchain) Doctor(ctx context.Context) buildpacks.Check {
	var c buildpacks.Check
	env := os.Environ()
	for _, tool := range []struct{ name, what string }{{"ruby", "Ruby"}, {"bundle", "Bundler"}} {
		path, err := exec.LookPath(tool.name)
		if err != nil {
			c.Problem = fmt.Sprintf("%s not found on PATH: install %s (%s)", tool.name, tool.what, installHint)
			return c
		}
		v, err := toolVersion(ctx, path, env)
		if err != nil {
			c.Problem = err.Error()
			return c
		}
		c.Tools = append(c.Tools, buildpacks.Tool{Name: tool.name, Version: v, Path: path})
	}
	return c
}

// Build checks the host's Ruby and Bundler against the app's pins,
// installs the locked gems and sets the default web process.
func (t *Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	want, err := readRubyVersion(b.Src)
	if err != nil {
		return err
	}
	lock, err := readLock(b.Src)
	if err != nil {
		return err
	}
	env := b.ToolEnv()
	_, rubyV, err := hostTool(ctx, "ruby", "Ruby", want.String(), ".ruby-version", env)
	if err != nil {
		return err
	}
	if err := want.check(rubyV); err != nil {
		return err
	}
	bundleCmd, bundlerV, err := hostTool(ctx, "bundle", "Bundler", lock.bundler, "Gemfile.lock", env)
	if err != nil {
		return err
	}
	if err := checkBundler(lock.bundler, bundlerV); err != nil {
		return err
	}
	b.Out.Step("Using ruby %s and Bundler %s%s", rubyV, bundlerV, want.note(rubyV))
	in := install{b: b, bundle: bundleCmd, ruby: rubyV, bundler: bundlerV}
	if err := in.run(ctx); err != nil {
		return err
	}
	setWeb(b)
	return nil
}

// hostTool finds name on PATH and asks its version. The error of a
// missing tool names it, what was found and the version wanted (from
// pinFile, if it asks for one).
func hostTool(ctx context.Context, name, what, want, pinFile string, env []string) (string, string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		wanted := "any"
		if want != "" {
			wanted = want + " (" + pinFile + ")"
		}
		return "", "", fmt.Errorf("%s not found on PATH (found: none, wanted: %s %s): install %s on the server (%s)",
			name, what, wanted, what, installHint)
	}
	v, err := toolVersion(ctx, path, env)
	if err != nil {
		return "", "", err
	}
	return path, v, nil
}

// toolVersion runs `TOOL --version` and returns the version in its output:
// "ruby 3.1.2p20 (...)" gives 3.1.2, "Bundler version 2.3.15" 2.3.15.
func toolVersion(ctx context.Context, path string, env []string) (string, error) {
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env, cmd.Dir = env, os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", filepath.Base(path), err)
	}
	for _, f := range strings.Fields(string(out)) {
		if v := leadingVersion(f); v != "" {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s --version: no version in %q", filepath.Base(path), excerpt.Of(strings.TrimSpace(string(out))))
}

// setWeb makes a Rack app's config.ru the default web process.
func setWeb(b *buildpacks.Build) {
	if fi, err := os.Stat(filepath.Join(b.Src, "config.ru")); err == nil && fi.Mode().IsRegular() {
		b.Processes["web"] = WebCommand
		return
	}
	if _, err := os.Lstat(filepath.Join(b.Src, "Procfile")); err != nil {
		b.Out.Warn("No config.ru: declare your processes in a Procfile, e.g. \"web: bundle exec ruby app.rb\"")
	}
}
