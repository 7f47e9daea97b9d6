// Package rust is the built-in buildpack for Rust apps with a Cargo.toml:
// it builds them with the host's cargo in release mode and installs their
// binaries into the slug's bin directory.
//
// Cargo's target dir and its download cache (CARGO_HOME) live in the
// app's cache, and cargo builds a copy of the sources kept there too (see
// syncTree), so a redeploy recompiles only what changed. When the app
// commits Cargo.lock, cargo runs with --locked: a lockfile out of sync
// with Cargo.toml fails the build instead of resolving new versions. The
// app's CARGO_NET_OFFLINE=true config makes cargo use only what is cached.
package rust

import (
	"context"
	"errors"
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

// installHint says how to get cargo on a Debian host.
const installHint = "apt-get install cargo, or rustup"

// Paths in the app's cache.
const (
	cacheTarget = "cargo/target" // CARGO_TARGET_DIR
	cacheHome   = "cargo/home"   // CARGO_HOME: downloaded crates
	cacheSrc    = "cargo/src"    // the sources, built in the same dir each time
)

// Toolchain builds apps that have a Cargo.toml at their root.
type Toolchain struct{}

// New returns the Rust toolchain.
func New() *Toolchain { return &Toolchain{} }

// Name returns "Rust".
func (*Toolchain) Name() string { return "Rust" }

// LooksFor says what Detect looks for.
func (*Toolchain) LooksFor() string { return "Cargo.toml (Rust)" }

// Detect reports whether src has a Cargo.toml.
func (*Toolchain) Detect(src string) (bool, error) {
	return srcfile.Has(src, "Cargo.toml")
}

// Doctor reports the host's cargo and rustc and their versions.
func (*Toolchain) Doctor(ctx context.Context) buildpacks.Check {
	rt, err := findRust(ctx, pin{})
	if err != nil {
		return buildpacks.Check{Problem: err.Error()}
	}
	return buildpacks.Check{Tools: []buildpacks.Tool{
		{Name: "cargo", Version: rt.cargoVersion, Path: rt.cargo},
		{Name: "rustc", Version: rt.release, Path: rt.rustc},
	}}
}

// Build checks the host's Rust against the app's rust-toolchain pin,
// builds the app in release mode and installs its binaries into bin.
func (t *Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	pin, err := readPin(b.Src)
	if err != nil {
		return err
	}
	rt, err := findRust(ctx, pin)
	if err != nil {
		return err
	}
	if err := pin.check(rt.release); err != nil {
		return err
	}
	b.Out.Step("Using rustc %s and cargo %s%s", rt.release, rt.cargoVersion, pin.note())
	if err := srcfile.CheckBinDir(b.Src); err != nil {
		return err
	}
	bins, err := build(ctx, b, rt)
	if err != nil {
		return err
	}
	if err := installBins(b, bins); err != nil {
		return err
	}
	setWeb(b, bins)
	return nil
}

// rust is the host's Rust toolchain.
type rust struct {
	cargo, rustc string // the real binaries, not rustup's proxies
	sysroot      string
	release      string // rustc's release, e.g. "1.95.0" or "1.96.0-nightly"
	cargoVersion string
}

// findRust locates cargo and rustc. Asked from outside the app's dir, so
// that rustup does not act on the app's rust-toolchain file (nua checks
// that itself and never downloads a toolchain); the build then runs the
// binaries of the host's default toolchain directly.
func findRust(ctx context.Context, want pin) (rust, error) {
	for _, tool := range []string{"cargo", "rustc"} {
		if _, err := exec.LookPath(tool); err != nil {
			wanted := "any"
			if want.channel != "" {
				wanted = want.channel + " (" + want.file + ")"
			}
			return rust{}, fmt.Errorf("%s not found on PATH (found: none, wanted: Rust %s): install Rust on the server (%s)", tool, wanted, installHint)
		}
	}
	var rt rust
	out, err := hostOutput(ctx, "rustc", "-vV")
	if err != nil {
		return rust{}, err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "release: "); ok {
			rt.release = strings.TrimSpace(v)
		}
	}
	if rt.release == "" {
		return rust{}, fmt.Errorf("rustc -vV: no release line in %q", excerpt.Of(out))
	}
	if out, err = hostOutput(ctx, "rustc", "--print", "sysroot"); err != nil {
		return rust{}, err
	}
	rt.sysroot = strings.TrimSpace(out)
	rt.rustc, rt.cargo = filepath.Join(rt.sysroot, "bin", "rustc"), filepath.Join(rt.sysroot, "bin", "cargo")
	for _, p := range []*string{&rt.rustc, &rt.cargo} {
		if fi, err := os.Stat(*p); err != nil || fi.IsDir() {
			path, _ := exec.LookPath(filepath.Base(*p))
			*p = path
		}
	}
	if out, err = hostOutput(ctx, rt.cargo, "--version"); err != nil {
		return rust{}, err
	}
	if f := strings.Fields(out); len(f) >= 2 {
		rt.cargoVersion = f[1]
	}
	return rt, nil
}

// hostOutput runs a version query with the host's environment in a
// neutral dir and returns its output.
func hostOutput(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, excerpt.Of(strings.Join(strings.Fields(string(exit.Stderr)), " ")))
		}
		return "", fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return string(out), nil
}

// setWeb makes the app's binary the default web process when it has
// exactly one.
func setWeb(b *buildpacks.Build, bins []binary) {
	switch len(bins) {
	case 0:
		b.Out.Warn("No binary built: declare your processes in a Procfile")
	case 1:
		b.Processes["web"] = "bin/" + bins[0].name
	default:
		names := make([]string, len(bins))
		for i, bin := range bins {
			names[i] = bin.name
		}
		b.Out.Warn("Several binaries (%s): declare the web process in a Procfile", strings.Join(names, ", "))
	}
}
