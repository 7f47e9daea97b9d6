// Package generic is the built-in buildpack for apps that only need their
// Procfile: the commands it declares run as they are, with no build step.
package generic

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nua-paas/nua/buildpacks"
)

var _ buildpacks.Buildpack = (*Toolchain)(nil)

// Toolchain runs apps that have a Procfile and nothing nua builds.
type Toolchain struct{}

// New returns the Procfile-only toolchain.
func New() *Toolchain { return &Toolchain{} }

// Name returns "Procfile".
func (*Toolchain) Name() string { return "Procfile" }

// LooksFor says what Detect looks for.
func (*Toolchain) LooksFor() string { return "a Procfile" }

// Detect reports whether src has a Procfile.
func (*Toolchain) Detect(src string) (bool, error) {
	_, err := os.Lstat(filepath.Join(src, "Procfile"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat Procfile: %w", err)
	}
	return true, nil
}

// Build has nothing to build: the Procfile's commands run as they are.
func (*Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	b.Out.Info("No build step: the Procfile's commands run as they are")
	return nil
}
