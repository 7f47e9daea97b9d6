package rust

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nua-paas/nua/buildpacks"
)

// syncTree makes dst a copy of src, leaving alone the files whose content
// has not changed, so that they keep their modification times. Cargo
// decides what to recompile by the path of a package and the times of its
// files: building every push in the same dir, with unchanged files left
// untouched, lets a redeploy recompile only what changed. skip leaves
// out entries of src (and removes them from dst), given their path
// relative to src.
func syncTree(dst, src string, skip func(rel string) bool) error {
	seen := map[string]bool{}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel != "." && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		seen[rel] = true
		return syncEntry(filepath.Join(dst, rel), path, d)
	})
	if err != nil {
		return fmt.Errorf("sync sources: %w", err)
	}
	return removeUnseen(dst, seen)
}

// syncEntry makes to a copy of the entry at from.
func syncEntry(to, from string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	old, oerr := os.Lstat(to)
	switch {
	case d.IsDir():
		if oerr == nil && !old.IsDir() {
			if err := os.Remove(to); err != nil {
				return err
			}
		}
		return os.MkdirAll(to, fi.Mode().Perm()|0o700)
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(from)
		if err != nil {
			return err
		}
		if cur, err := os.Readlink(to); err == nil && cur == target {
			return nil
		}
		if err := os.RemoveAll(to); err != nil {
			return err
		}
		return os.Symlink(target, to)
	case d.Type().IsRegular():
		if oerr == nil && old.Mode().IsRegular() && old.Size() == fi.Size() && sameContent(to, from) {
			return os.Chmod(to, fi.Mode().Perm())
		}
		if err := os.RemoveAll(to); err != nil {
			return err
		}
		return buildpacks.CopyFile(to, from, fi.Mode().Perm())
	}
	return nil
}

// removeUnseen removes the entries of dst that are not in seen.
func removeUnseen(dst string, seen map[string]bool) error {
	return filepath.WalkDir(dst, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dst, path)
		if err != nil || seen[rel] {
			return err
		}
		if err := os.RemoveAll(path); err != nil {
			return err
		}
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
}

// sameContent reports whether the files at a and b hold the same bytes.
func sameContent(a, b string) bool {
	fa, err := os.Open(a)
	if err != nil {
		return false
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false
	}
	defer fb.Close()
	bufA, bufB := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		na, errA := io.ReadFull(fa, bufA)
		nb, errB := io.ReadFull(fb, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false
		}
		if errA != nil || errB != nil {
			return errA == errB || (isEOF(errA) && isEOF(errB))
		}
	}
}

func isEOF(err error) bool { return err == io.EOF || err == io.ErrUnexpectedEOF }
