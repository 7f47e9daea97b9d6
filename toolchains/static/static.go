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

// WebCommand is the default web process of a static site.
const WebCommand = "nua serve-static"

// Toolchain serves sites that have an index.html at their root and no
// Procfile or go.mod.
type Toolchain struct{}

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
func (*Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	b.Out.Info("No build step: %s serves the files (dotfiles stay private)", WebCommand)
	b.Processes["web"] = WebCommand
	return nil
}
