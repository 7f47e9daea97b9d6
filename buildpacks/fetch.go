package buildpacks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// fetchedDir holds the git buildpacks fetched for an app, in its cache.
const fetchedDir = "buildpacks"

// resolve returns the root directory of buildpack s: a local directory as
// it is, or a git URL fetched into the app's cache. A URL fetched by an
// earlier build (same URL and ref) is reused; apps:purge-cache forgets it.
func (bl *Builder) resolve(ctx context.Context, b *Build, s Source) (string, error) {
	if path := localPath(s); path != "" {
		if err := bl.checkLocal(b, path, s); err != nil {
			return "", err
		}
	}
	var dir string
	if s.Dir {
		dir = s.URL
	} else {
		var err error
		if dir, err = bl.fetch(ctx, b, s); err != nil {
			return "", err
		}
	}
	if err := bl.checkBuildpackDir(b, dir, s); err != nil {
		return "", err
	}
	return dir, nil
}

// fetch clones git buildpack s into the app's cache, unless an earlier
// build did, and returns its directory.
func (bl *Builder) fetch(ctx context.Context, b *Build, s Source) (string, error) {
	sum := sha256.Sum256([]byte(s.URL + "#" + s.Ref))
	dir := filepath.Join(b.Cache, fetchedDir, hex.EncodeToString(sum[:12]))
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		b.Out.Info("Using buildpack %s fetched on %s (apps:purge-cache fetches it again)", s, fi.ModTime().UTC().Format("2006-01-02 15:04"))
		return dir, nil
	}
	b.Out.Step("Fetching buildpack %s", s)
	start := time.Now()
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", fmt.Errorf("buildpack %s: %w", s, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".fetch-")
	if err != nil {
		return "", fmt.Errorf("buildpack %s: %w", s, err)
	}
	defer os.RemoveAll(tmp)
	hash, err := cloneAt(ctx, tmp, s)
	if err != nil {
		return "", fmt.Errorf("fetch buildpack %s: %w", s, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("buildpack %s: %w", s, err)
	}
	b.Out.Info("Fetched commit %s in %s", hash.String()[:12], time.Since(start).Round(10*time.Millisecond))
	return dir, nil
}

// cloneAt clones s.URL into dir and checks out s.Ref: a branch, a tag or a
// commit; no ref checks out the default branch.
func cloneAt(ctx context.Context, dir string, s Source) (plumbing.Hash, error) {
	repo, err := git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{URL: s.URL, NoCheckout: true, Tags: git.AllTags})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	hash, err := resolveRef(repo, s.Ref)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: hash, Force: true}); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("check out %s: %w", hash, err)
	}
	return hash, nil
}

func resolveRef(repo *git.Repository, ref string) (plumbing.Hash, error) {
	if ref == "" {
		head, err := repo.Head()
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("resolve the default branch: %w", err)
		}
		return head.Hash(), nil
	}
	for _, rev := range []string{"refs/remotes/origin/" + ref, "refs/tags/" + ref, ref} {
		if h, err := repo.ResolveRevision(plumbing.Revision(rev)); err == nil {
			return *h, nil
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("no branch, tag or commit %q in the repository", ref)
}

// localPath is where on the server's disk buildpack s is read from: its
// directory, or its file:// repository; "" for a remote one.
func localPath(s Source) string {
	if s.Dir {
		return s.URL
	}
	return fileURLPath(s.URL)
}

// fileURLPath returns the path of a file:// URL, or "" for other URLs.
func fileURLPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return filepath.Clean(u.Path)
}

// checkBuildpackDir checks that dir is a buildpack: a directory, outside
// nua's own dirs, with executable bin/detect and bin/compile.
func (bl *Builder) checkBuildpackDir(b *Build, dir string, s Source) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("buildpack %s: %w", s, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("buildpack %s: not a directory", s)
	}
	for _, script := range []string{"bin/detect", "bin/compile"} {
		fi, err := os.Stat(filepath.Join(dir, script))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("buildpack %s: no %s: a buildpack has bin/detect, bin/compile and bin/release", s, script)
		case err != nil:
			return fmt.Errorf("buildpack %s: %w", s, err)
		case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
			return fmt.Errorf("buildpack %s: %s is not an executable file", s, script)
		}
	}
	return nil
}

// checkLocal refuses a buildpack read from the server's disk unless it is
// inside the operator's buildpacks dir (WithBuildpacksDir), and never
// inside nua's own dirs: a push must not make nua read whatever path it
// names into a build.
func (bl *Builder) checkLocal(b *Build, path string, s Source) error {
	if err := CheckLocalBuildpack(bl.buildpacksDir, path); err != nil {
		return fmt.Errorf("buildpack %s: %w", s, err)
	}
	return bl.checkNotProtected(b, path, s)
}

// CheckLocalBuildpack checks that path, a buildpack on the server's disk
// (a directory or a file:// repository), is inside dir, the only directory
// the operator lets builds take buildpacks from (nua server
// --buildpacks-dir), symlinks resolved; dir "" allows none.
func CheckLocalBuildpack(dir, path string) error {
	if dir == "" {
		return fmt.Errorf("%w: this server takes no buildpack from its own disk: name a git URL (https://...), or ask its operator to allow a directory of buildpacks (nua server --buildpacks-dir DIR)", ErrBuildpackURL)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = filepath.Clean(path) // a missing path fails inside or out
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		realDir = filepath.Clean(dir)
	}
	if !filepath.IsAbs(real) || !within(realDir, real) {
		return fmt.Errorf("%w: %s is outside %s, the only directory this server takes buildpacks from (nua server --buildpacks-dir): put the buildpack there, or name a git URL", ErrBuildpackURL, path, dir)
	}
	return nil
}

// checkNotProtected refuses a local buildpack inside nua's own dirs (the
// data dir, the app's cache): a buildpack there could read other apps.
func (bl *Builder) checkNotProtected(b *Build, dir string, s Source) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		real = dir // missing dirs fail later with a clearer message
	}
	for _, p := range bl.protectedDirs(b) {
		if within(p, dir) || within(p, real) {
			return fmt.Errorf("%w: %s is inside nua's dir %s: keep buildpacks elsewhere", ErrBuildpackURL, s, p)
		}
	}
	return nil
}

// protectedDirs are the dirs no build may reference: the Builder's (nua's
// data dir) and the app's cache.
func (bl *Builder) protectedDirs(b *Build) []string {
	dirs := append([]string{b.Cache}, bl.protected...)
	for _, d := range bl.protected {
		if real, err := filepath.EvalSymlinks(d); err == nil {
			dirs = append(dirs, real)
		}
	}
	return dirs
}
