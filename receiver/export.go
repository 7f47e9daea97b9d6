package receiver

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/nua-paas/nua/internal/excerpt"
)

// Quarantine names where a push's objects are while pre-receive runs: git
// keeps them out of the repository until the hook accepts them.
type Quarantine struct {
	ObjectDir  string // GIT_OBJECT_DIRECTORY of the hook
	Alternates string // GIT_ALTERNATE_OBJECT_DIRECTORIES of the hook
}

// Export writes the tree of commit into dst, an empty directory. During
// pre-receive q must be the hook's quarantine; outside a hook it is empty.
// Entries that would land outside dst, including symlinks pointing out of
// it, fail the export.
func (r *Receiver) Export(ctx context.Context, app, commit string, q Quarantine, dst string) error {
	if !oidRE.MatchString(commit) {
		return fmt.Errorf("export: %q is not a commit id", excerpt.Of(commit))
	}
	repo := r.Repo(app)
	env := gitFreeEnv()
	for _, d := range []struct{ name, val string }{
		{"GIT_OBJECT_DIRECTORY", q.ObjectDir},
		{"GIT_ALTERNATE_OBJECT_DIRECTORIES", q.Alternates},
	} {
		if d.val == "" {
			continue
		}
		for _, p := range filepath.SplitList(d.val) {
			if !within(repo, p) {
				return fmt.Errorf("export: %s %q is outside the app's repository", d.name, p)
			}
		}
		env = append(env, d.name+"="+d.val)
	}
	cmd := exec.CommandContext(ctx, "git", "--git-dir", repo, "archive", "--format=tar", commit)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("export: start git archive: %w", err)
	}
	xerr := untar(out, dst)
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("export: git archive: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return xerr
}

// within reports whether p is dir or inside it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, filepath.Clean(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// untar extracts a git archive into dst through an os.Root, which refuses
// any path that resolves outside dst.
func untar(r io.Reader, dst string) error {
	root, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("export: read archive: %w", err)
		}
		if err := extract(root, tr, h); err != nil {
			return fmt.Errorf("export %s: %w", excerpt.Of(h.Name), err)
		}
	}
}

func extract(root *os.Root, tr *tar.Reader, h *tar.Header) error {
	name := path.Clean(h.Name)
	if name == "." || !filepath.IsLocal(name) {
		if h.Typeflag == tar.TypeXGlobalHeader || name == "." {
			return nil
		}
		return errors.New("path leaves the app directory")
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return root.MkdirAll(name, 0o755)
	case tar.TypeReg:
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case tar.TypeSymlink:
		target := path.Join(path.Dir(name), h.Linkname)
		if path.IsAbs(h.Linkname) || !filepath.IsLocal(target) {
			return fmt.Errorf("symlink to %q points outside the app: make it relative and inside the repository", excerpt.Of(h.Linkname))
		}
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return err
		}
		return root.Symlink(h.Linkname, name)
	default:
		return nil // git archive writes nothing else that matters
	}
}
