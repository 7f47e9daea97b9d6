package toolchains

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nua-paas/nua/internal/diskuse"
)

// RuntimesDir is where a server with data dir data keeps the runtimes it
// provides (Config.RuntimesDir); every app reads it.
func RuntimesDir(data string) string { return filepath.Join(data, "runtimes") }

// Runtime is a runtime in the cache nua provides apps from: a Node.js,
// npm, yarn or pnpm version, or a Go toolchain.
type Runtime struct {
	Name, Version string
	Dir           string
	Size          int64     // bytes on disk
	Fetched       time.Time // when it arrived
	files         []string  // what else belongs to it (a Go toolchain's download)
}

// ListRuntimes lists the runtimes in dir (Config.RuntimesDir), by name
// then version.
func ListRuntimes(dir string) ([]Runtime, error) {
	var out []Runtime
	// Packages of the npm registry: DIR/NAME/VERSION.
	names, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !n.IsDir() || n.Name() == "go" || strings.HasPrefix(n.Name(), ".") {
			continue
		}
		versions, err := os.ReadDir(filepath.Join(dir, n.Name()))
		if err != nil {
			return nil, err
		}
		for _, v := range versions {
			if v.IsDir() && !strings.HasPrefix(v.Name(), ".") {
				out = append(out, Runtime{Name: n.Name(), Version: v.Name(), Dir: filepath.Join(dir, n.Name(), v.Name())})
			}
		}
	}
	// Go toolchains, in a module cache: DIR/go/golang.org/toolchain@v0.0.1-goX.OS-ARCH.
	mods := filepath.Join(dir, "go", "golang.org")
	tcs, err := os.ReadDir(mods)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, tc := range tcs {
		rest, ok := strings.CutPrefix(tc.Name(), "toolchain@v0.0.1-")
		if !ok || !tc.IsDir() {
			continue
		}
		download := filepath.Join(dir, "go", "cache", "download", "golang.org", "toolchain", "@v", "v0.0.1-"+rest)
		files, _ := filepath.Glob(download + ".*")
		version, _, _ := strings.Cut(rest, ".linux-")
		out = append(out, Runtime{Name: "go", Version: version, Dir: filepath.Join(mods, tc.Name()), files: files})
	}
	for i := range out {
		r := &out[i]
		if fi, err := os.Stat(r.Dir); err == nil {
			r.Fetched = fi.ModTime()
		}
		for _, p := range append([]string{r.Dir}, r.files...) {
			r.Size += diskuse.Size(p)
		}
	}
	slices.SortFunc(out, func(a, b Runtime) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version)) })
	return out, nil
}

// PruneRuntimes removes the runtimes of dir that no slug of slugs links
// to, except those fetched within grace (a build may be about to link
// them). A Go toolchain is needed only while building: none is kept.
func PruneRuntimes(dir string, slugs []string, grace time.Duration) ([]Runtime, error) {
	rts, err := ListRuntimes(dir)
	if err != nil {
		return nil, err
	}
	used, err := linkedFrom(slugs)
	if err != nil {
		return nil, err
	}
	var removed []Runtime
	for _, r := range rts {
		if time.Since(r.Fetched) < grace || slices.ContainsFunc(used, func(p string) bool { return within(r.Dir, p) }) {
			continue
		}
		for _, p := range append([]string{r.Dir}, r.files...) {
			if err := removeAll(p); err != nil {
				return removed, fmt.Errorf("remove %s %s: %w", r.Name, r.Version, err)
			}
		}
		removed = append(removed, r)
	}
	return removed, nil
}

// linkedFrom returns where the symlinks in the bin dirs of slugs point.
func linkedFrom(slugs []string) ([]string, error) {
	var targets []string
	for _, slug := range slugs {
		entries, err := os.ReadDir(filepath.Join(slug, "bin"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type()&fs.ModeSymlink == 0 {
				continue
			}
			if t, err := os.Readlink(filepath.Join(slug, "bin", e.Name())); err == nil && filepath.IsAbs(t) {
				targets = append(targets, t)
			}
		}
	}
	return targets, nil
}

func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// removeAll removes p, making its read-only dirs (a module cache's)
// writable first.
func removeAll(p string) error {
	filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o755)
		}
		return nil
	})
	return os.RemoveAll(p)
}
