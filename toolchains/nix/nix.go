// Package nix is the Nix build backend: a repo with a flake.nix (or a
// default.nix) is built with `nix build`, and the programs in the result's
// bin directory run natively under procman.
//
// The result is kept as the out-link "result" inside the slug, which makes
// it a Nix GC root that lives and dies with the release: when the release is
// pruned, its store path is deleted unless another root still holds it.
package nix

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nua-paas/nua/buildpacks"
)

var (
	_ buildpacks.Buildpack = (*Toolchain)(nil)
	_ buildpacks.Backend   = (*Toolchain)(nil)
	_ buildpacks.Placer    = (*Toolchain)(nil)
	_ buildpacks.Remover   = (*Toolchain)(nil)
)

// OutLink is the name of the build result's link in the slug.
const OutLink = "result"

// DefaultSandboxPaths returns the host paths made visible in Nix's build
// sandbox, so that builds without nixpkgs can use the host's tools; a
// trailing "?" skips a path the host lacks.
func DefaultSandboxPaths() []string {
	return []string{"/bin/sh=/bin/dash", "/lib?", "/lib64?", "/usr/lib?", "/usr/bin?", "/usr/local/go?"}
}

// hostVars are the server's settings for nix that builds keep: how to
// reach the store and its daemon, its configuration, the channels
// default.nix files find as <nixpkgs>, and its certificates.
var hostVars = []string{"NIX_REMOTE", "NIX_CONF_DIR", "NIX_CONFIG", "NIX_USER_CONF_FILES", "NIX_PATH", "NIX_SSL_CERT_FILE"}

// Toolchain builds apps with a flake.nix or default.nix.
type Toolchain struct {
	// Nix is the nix command; "" looks it up on PATH.
	Nix string
	// SandboxPaths are added to Nix's sandbox-paths; nil means
	// DefaultSandboxPaths().
	SandboxPaths []string
	// Substituters are the binary caches Nix may use; empty means none, so
	// builds never wait on an unreachable cache.
	Substituters []string
}

// New returns the Nix backend.
func New() *Toolchain { return &Toolchain{} }

// Name returns "Nix".
func (*Toolchain) Name() string { return "Nix" }

// Backend returns "nix".
func (*Toolchain) Backend() string { return "nix" }

// LooksFor says what Detect looks for.
func (*Toolchain) LooksFor() string { return "flake.nix or default.nix (Nix)" }

// Detect reports whether src has a flake.nix or a default.nix.
func (*Toolchain) Detect(src string) (bool, error) {
	for _, name := range []string{"flake.nix", "default.nix"} {
		ok, err := regular(filepath.Join(src, name))
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

func regular(path string) (bool, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", filepath.Base(path), err)
	}
	return fi.Mode().IsRegular(), nil
}

// nix returns the path of the nix command.
func (t *Toolchain) nix() (string, error) {
	if t.Nix != "" {
		return t.Nix, nil
	}
	return exec.LookPath("nix")
}

// Available reports whether nix can build: the command exists and answers.
func (t *Toolchain) Available(ctx context.Context) error {
	nix, err := t.nix()
	if err != nil {
		return errors.New("nix is not installed: install it (Debian: apt-get install nix-bin) and, unless nua runs as root, start nix-daemon")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, nix, "--version").CombinedOutput(); err != nil {
		return fmt.Errorf("%s --version: %v: %s", nix, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Build runs nix build on the flake (or default.nix) and links its result
// into the slug. The programs in result/bin become the processes: bin is
// linked to result/bin when the tree has none, and the only program there
// is the default web process.
func (t *Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	nix, err := t.nix()
	if err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(b.Src, OutLink)); err == nil {
		return fmt.Errorf("the pushed tree has a %q entry: nua links the Nix build result there; remove it from the repository", OutLink)
	}
	flake, err := regular(filepath.Join(b.Src, "flake.nix"))
	if err != nil {
		return err
	}
	args := t.args(b.Src, flake)
	b.Out.Step("Building with nix build")
	b.Out.Info("nix %s", quoteArgs(args))
	start := time.Now()
	cmd := b.HostCommand(ctx, nix, args...) // Nix confines its builders itself
	// The scrubbed environment of every build with the host's Nix settings;
	// not the app's config. Nix makes its build dirs in TMPDIR and hands
	// them to its nixbld users, who cannot pass through the app's private
	// cache: they go in the host's temp dir, as under nix-daemon.
	cmd.Env = b.ToolEnv(append(buildpacks.HostEnv(hostVars...), "TMPDIR="+os.TempDir())...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nix build: %w", err)
	}
	store, err := os.Readlink(filepath.Join(b.Src, OutLink))
	if err != nil {
		return fmt.Errorf("nix build: no %s link: %w", OutLink, err)
	}
	b.Out.Info("Built %s in %s", store, time.Since(start).Round(10*time.Millisecond))
	return setProcesses(b)
}

// args are nix build's arguments for the app in src.
func (t *Toolchain) args(src string, flake bool) []string {
	paths := t.SandboxPaths
	if paths == nil {
		paths = DefaultSandboxPaths()
	}
	args := []string{
		"--extra-experimental-features", "nix-command flakes",
		"build", "--print-build-logs",
		"--option", "substituters", strings.Join(t.Substituters, " "),
		"--option", "extra-sandbox-paths", strings.Join(paths, " "),
		"--out-link", filepath.Join(src, OutLink),
	}
	if flake {
		return append(args, "--no-write-lock-file", "path:"+src)
	}
	return append(args, "--file", filepath.Join(src, "default.nix"))
}

// setProcesses links bin to result/bin when the tree has no bin, and makes
// the only program in result/bin the default web process.
func setProcesses(b *buildpacks.Build) error {
	entries, err := os.ReadDir(filepath.Join(b.Src, OutLink, "bin"))
	if errors.Is(err, fs.ErrNotExist) {
		b.Out.Warn("The result has no bin directory: declare your processes in a Procfile")
		return nil
	}
	if err != nil {
		return fmt.Errorf("read result/bin: %w", err)
	}
	var progs []string
	for _, e := range entries {
		progs = append(progs, e.Name())
	}
	b.Out.Info("Programs: result/bin/%s", strings.Join(progs, ", result/bin/"))
	if _, err := os.Lstat(filepath.Join(b.Src, "bin")); errors.Is(err, fs.ErrNotExist) {
		if err := os.Symlink(filepath.Join(OutLink, "bin"), filepath.Join(b.Src, "bin")); err != nil {
			return fmt.Errorf("link bin: %w", err)
		}
	}
	switch len(progs) {
	case 0:
		b.Out.Warn("result/bin is empty: declare your processes in a Procfile")
	case 1:
		b.Processes["web"] = OutLink + "/bin/" + progs[0]
	default:
		b.Out.Warn("Several programs in result/bin: declare the web process in a Procfile")
	}
	return nil
}

// Place registers the result link at its final place in slug as a GC root:
// Nix records roots by the link's path, which changed with the move.
func (t *Toolchain) Place(ctx context.Context, slug string) error {
	link := filepath.Join(slug, OutLink)
	store, err := os.Readlink(link)
	if err != nil {
		return nil // not a Nix build
	}
	nix, err := t.nix()
	if err != nil {
		return err
	}
	store, err = storePath(store)
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, filepath.Join(filepath.Dir(nix), "nix-store"), "--realise", store, "--add-root", link).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nix-store --add-root: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Remove deletes the slug's result link and then its store path, unless
// another root still holds it (as another release of the same build).
func (t *Toolchain) Remove(ctx context.Context, slug string) error {
	link := filepath.Join(slug, OutLink)
	target, err := os.Readlink(link)
	if err != nil {
		return nil // not a Nix build
	}
	store, err := storePath(target)
	if err != nil {
		return nil
	}
	if err := os.Remove(link); err != nil {
		return err
	}
	nix, err := t.nix()
	if err != nil {
		return nil
	}
	// A path still in use by another root is refused: that is fine.
	exec.CommandContext(ctx, filepath.Join(filepath.Dir(nix), "nix-store"), "--delete", store).Run()
	return nil
}

// quoteArgs joins args for display, quoting those with spaces or none.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if a == "" || strings.ContainsAny(a, " \t'\"") {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// storePath checks that target is a path in the Nix store.
func storePath(target string) (string, error) {
	clean := filepath.Clean(target)
	if !strings.HasPrefix(clean, "/nix/store/") || strings.Count(clean, "/") != 3 {
		return "", fmt.Errorf("result link points at %q, not at a Nix store path", target)
	}
	return clean, nil
}
