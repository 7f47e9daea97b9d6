// Package static is the built-in buildpack for static sites: a tree with an
// index.html at its root and nothing else to run. It has no build step; the
// web process is nua's own file server, Serve.
package static

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

var _ buildpacks.Buildpack = (*Toolchain)(nil)

// Toolchain serves sites that have an index.html at their root and no
// Procfile or go.mod.
type Toolchain struct {
	// Nua is the nua program whose file server serves the site, by
	// absolute path (never one the app's PATH finds); "" is the running
	// program.
	Nua string
}

// WebCommand is the web process of a static site: nua at path nua serves
// the files.
func WebCommand(nua string) string { return buildpacks.ShellQuote(nua) + " serve-static" }

// New returns the static site toolchain.
func New() *Toolchain { return &Toolchain{} }

// Name returns "Static".
func (*Toolchain) Name() string { return "Static" }

// LooksFor says what Detect looks for.
func (*Toolchain) LooksFor() string { return "index.html (static site)" }

// Detect reports whether src has an index.html and neither a Procfile nor a
// go.mod (those apps say themselves how they run).
func (*Toolchain) Detect(src string) (bool, error) {
	for _, name := range []string{"Procfile", "go.mod"} {
		if _, err := os.Lstat(filepath.Join(src, name)); err == nil {
			return false, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("stat %s: %w", name, err)
		}
	}
	return srcfile.Has(src, "index.html")
}

// Build has nothing to build: it sets the web process to nua's file server.
func (t *Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	nua := t.Nua
	if nua == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find nua's own program: %w", err)
		}
		nua = exe
	}
	b.Out.Info("No build step: nua serve-static serves the files (dotfiles stay private)")
	b.Processes["web"] = WebCommand(nua)
	return nil
}
