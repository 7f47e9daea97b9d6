package buildpacks

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// CopyTree copies the tree at src into dst, which must not exist yet:
// directories, regular files (with their permission bits) and symlinks (as
// they are). skip, if not nil, leaves out the entries it returns true for,
// given their path relative to src; a skipped directory is left out whole.
// A symlink must be relative and stay inside src, as in a pushed tree;
// any other fails the copy. Other entry types (sockets, devices) are left
// out.
func CopyTree(dst, src string, skip func(rel string) bool) error {
	src, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("copy to %s: %w", dst, fs.ErrExist)
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel != "." && skip != nil && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return copyDir(to, d)
		case d.Type().IsRegular():
			return copyFile(to, path, d)
		case d.Type()&fs.ModeSymlink != 0:
			return copyLink(to, path, src, rel)
		}
		return nil
	})
}

func copyDir(to string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	return os.MkdirAll(to, fi.Mode().Perm()|0o700)
}

func copyFile(to, from string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	return CopyFile(to, from, fi.Mode().Perm())
}

// CopyFile copies the regular file at from to a new file at to, with perm
// (plus owner read and write).
func CopyFile(to, from string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm|0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func copyLink(to, from, root, rel string) error {
	target, err := os.Readlink(from)
	if err != nil {
		return err
	}
	if filepath.IsAbs(target) || !within(root, filepath.Join(filepath.Dir(from), target)) {
		return fmt.Errorf("copy %s: symlink to %s points outside %s: make it relative and inside", rel, target, root)
	}
	return os.Symlink(target, to)
}
