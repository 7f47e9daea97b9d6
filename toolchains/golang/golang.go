// Package golang is the built-in buildpack for Go modules: it installs every
// main package of the module into the slug's bin directory with the host's
// go command.
package golang

import (
	"context"
	"fmt"
	"go/version"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

var (
	_ buildpacks.Buildpack = (*Toolchain)(nil)
	_ buildpacks.Doctor    = (*Toolchain)(nil)
)

// Toolchain builds apps that have a go.mod at their root.
type Toolchain struct {
	// BuildCache, if set, is a Go build cache shared by every app's builds
	// instead of one in each app's cache. Go's build cache is
	// content-addressed: an entry is found only by the hash of all its
	// inputs, so sharing it lets a new app skip compiling the standard
	// library (a minute on two cores) without one app's code reaching
	// another's binaries. Module downloads stay in each app's cache.
	BuildCache string
	// RuntimesDir, if set, holds the Go toolchains apps ask for in go.mod
	// that are not the server's, fetched through the module proxy and
	// shared read-only; without it such an app's build fails.
	RuntimesDir string
}

// New returns the Go toolchain.
func New() *Toolchain { return &Toolchain{} }

// Warm compiles the standard library into the shared build cache, so the
// first push of a Go app does not pay for it. Without a shared cache it
// does nothing.
func (t *Toolchain) Warm(ctx context.Context) error {
	if t.BuildCache == "" {
		return nil
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil // pushes of Go apps will say so
	}
	dir, err := os.MkdirTemp("", "nua-go-warm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &buildpacks.Build{Src: dir, Cache: dir}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "std")
	cmd.Dir, cmd.Env = dir, t.env(b)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("warm go build cache: %w: %s", err, out)
	}
	return nil
}

// Doctor reports the host's go command and its version.
func (t *Toolchain) Doctor(ctx context.Context) buildpacks.Check {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return buildpacks.Check{Problem: "go not found on PATH: install Go (https://go.dev/dl/, or apt-get install golang-go)"}
	}
	v, err := goVersion(ctx, goCmd, os.Environ())
	if err != nil {
		return buildpacks.Check{Problem: err.Error()}
	}
	return buildpacks.Check{Tools: []buildpacks.Tool{{Name: "go", Version: strings.TrimPrefix(v, "go"), Path: goCmd}}}
}

// Name returns "Go".
func (*Toolchain) Name() string { return "Go" }

// LooksFor says what Detect looks for.
func (*Toolchain) LooksFor() string { return "go.mod (Go)" }

// Detect reports whether src has a go.mod file.
func (*Toolchain) Detect(src string) (bool, error) {
	return srcfile.Has(src, "go.mod")
}

// Build installs the module's main packages into b.Src/bin and makes the
// binary named after the module (or the only binary) the web process.
func (t *Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	mod, err := readGoMod(filepath.Join(b.Src, "go.mod"))
	if err != nil {
		return err
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("go not found on PATH: install Go %s", mod.wantGo())
	}
	env := t.env(b)
	if t.BuildCache != "" && b.Confined() {
		// The shared cache stays the daemon's: the app gets links to its
		// entries in a cache of its own, which it cannot use to change
		// another app's builds.
		if err := b.Seed(filepath.Join(b.Cache, "go-build"), t.BuildCache); err != nil {
			return err
		}
	}
	hostGo, err := goVersion(ctx, goCmd, env)
	if err != nil {
		return err
	}
	asked := "go.mod: go " + mod.wantGo()
	if mod.Toolchain != "" {
		asked += ", toolchain " + mod.Toolchain
	}
	switch want := mod.wantToolchain(hostGo); {
	case want == "":
		b.Out.Step("Using %s (%s)", hostGo, asked)
	case t.RuntimesDir == "":
		return fmt.Errorf("go.mod asks for %s but the server has %s: install %s on the server, or change go.mod", want, hostGo, want)
	default:
		var origin string
		if goCmd, origin, err = t.provide(ctx, goCmd, want, env); err != nil {
			return err
		}
		b.Out.Step("Using %s (%s), %s", want, asked, origin)
	}
	if err := srcfile.CheckBinDir(b.Src); err != nil {
		return err
	}
	if err := install(ctx, b, goCmd, env, mod.Path); err != nil {
		return err
	}
	bins, err := installed(ctx, b, goCmd, env)
	if err != nil {
		return err
	}
	setWeb(b, mod.Path, bins)
	return nil
}

// install runs go install for every package of the module.
func install(ctx context.Context, b *buildpacks.Build, goCmd string, env []string, modPath string) error {
	extra, err := BuildFlags(b)
	if err != nil {
		return err
	}
	args := append([]string{"install", "-trimpath", "-modcacherw", "-buildvcs=false"}, extra...)
	args = append(args, "./...")
	b.Out.Step("Compiling %s", modPath)
	b.Out.Info("go %s", strings.Join(args, " "))
	start := time.Now()
	cmd := b.Command(ctx, goCmd, args...)
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	b.Out.Info("Compiled in %s", time.Since(start).Round(10*time.Millisecond))
	return nil
}

// BuildFlags returns the flags of the app's GO_BUILD_FLAGS config, added to
// go install: split on white space (no shell), each one a flag.
func BuildFlags(b *buildpacks.Build) ([]string, error) {
	v, _ := b.Getenv("GO_BUILD_FLAGS")
	flags := strings.Fields(v)
	for _, f := range flags {
		if !strings.HasPrefix(f, "-") || f == "-" || f == "--" {
			return nil, fmt.Errorf("GO_BUILD_FLAGS: %q is not a flag: give flags such as -tags=prod -ldflags=-s", f)
		}
	}
	return flags, nil
}

// installed returns the names of the binaries go install wrote to bin.
func installed(ctx context.Context, b *buildpacks.Build, goCmd string, env []string) ([]string, error) {
	// -buildvcs=false as for go install: the source may sit below a git
	// repository its user may not read (a data dir inside a checkout).
	cmd := b.Command(ctx, goCmd, "list", "-buildvcs=false", "-f", `{{if eq .Name "main"}}{{.Target}}{{end}}`, "./...")
	cmd.Env, cmd.Stdout = env, nil
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var bins []string
	for _, target := range strings.Fields(string(out)) {
		bins = append(bins, filepath.Base(target))
	}
	return bins, nil
}

// setWeb sets the default web process to the binary named like the module
// path's last element or, failing that, to the only binary.
func setWeb(b *buildpacks.Build, modPath string, bins []string) {
	if len(bins) == 0 {
		b.Out.Warn("No main package found: declare your processes in a Procfile")
		return
	}
	b.Out.Info("Installed bin/%s", strings.Join(bins, ", bin/"))
	name := binName(modPath)
	for _, bin := range bins {
		if bin == name {
			b.Processes["web"] = "bin/" + bin
			return
		}
	}
	if len(bins) == 1 {
		b.Processes["web"] = "bin/" + bins[0]
		return
	}
	b.Out.Warn("Several binaries and none named %s: declare the web process in a Procfile", name)
}

// binName is the name go install gives the module's root package: the last
// element of the module path, skipping a major version suffix like /v2.
func binName(modPath string) string {
	elems := strings.Split(modPath, "/")
	last := elems[len(elems)-1]
	if len(elems) > 1 && isMajorSuffix(last) {
		last = elems[len(elems)-2]
	}
	return last
}

func isMajorSuffix(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	return strings.Trim(s[1:], "0123456789") == ""
}

// goVersion returns the host go's version, e.g. "go1.26.8".
func goVersion(ctx context.Context, goCmd string, env []string) (string, error) {
	cmd := exec.CommandContext(ctx, goCmd, "env", "GOVERSION")
	cmd.Env, cmd.Dir = env, os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	v := strings.TrimSpace(string(out))
	if !version.IsValid(v) {
		return "", fmt.Errorf("go env GOVERSION: unexpected version %q", v)
	}
	return v, nil
}
