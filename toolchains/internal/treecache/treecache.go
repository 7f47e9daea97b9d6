// Package treecache keeps installed dependency trees (node_modules, a
// virtualenv) in a build cache, keyed by what they were installed from, so
// a rebuild from the same lockfile restores the tree instead of installing
// it again.
//
// Each entry is a directory named after its key, moved into place with one
// rename once it is complete: an entry that exists is whole. Saving an
// entry removes the others, so a cache holds the latest tree only.
package treecache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nua-paas/nua/buildpacks"
)

// Cache is a directory of cached trees.
type Cache struct {
	// Dir holds the entries; it is created on the first Save.
	Dir string
	// Link restores and saves files as hard links instead of copies where
	// the file system allows: fast, but the cache and the restored tree
	// then share their files, so neither may be modified in place. Tools
	// that install packages replace files rather than rewrite them.
	Link bool
}

// Key returns the key of a tree installed from parts, e.g. the lockfile's
// content and the runtime's version. Parts are length-prefixed, so
// ("ab", "c") and ("a", "bc") differ.
func Key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		io.WriteString(h, p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Restore copies the tree saved under key to dst, which must not exist,
// and reports whether there was one.
func (c Cache) Restore(key, dst string) (bool, error) {
	entry := filepath.Join(c.Dir, key)
	fi, err := os.Lstat(entry)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("restore cached %s: %w", filepath.Base(dst), err)
	}
	if !fi.IsDir() {
		return false, nil
	}
	if err := Copy(entry, dst, c.Link); err != nil {
		os.RemoveAll(dst)
		return false, fmt.Errorf("restore cached %s: %w", filepath.Base(dst), err)
	}
	return true, nil
}

// Save stores a copy of the tree src under key and removes the other
// entries.
func (c Cache) Save(key, src string) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("cache %s: %w", filepath.Base(src), err)
	}
	tmp, err := os.MkdirTemp(c.Dir, ".tmp-")
	if err != nil {
		return fmt.Errorf("cache %s: %w", filepath.Base(src), err)
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")
	if err := Copy(src, tree, c.Link); err != nil {
		return fmt.Errorf("cache %s: %w", filepath.Base(src), err)
	}
	entry := filepath.Join(c.Dir, key)
	if err := os.Rename(tree, entry); err != nil {
		if _, serr := os.Stat(entry); serr != nil { // not saved by a racing build
			return fmt.Errorf("cache %s: %w", filepath.Base(src), err)
		}
	}
	return c.prune(key)
}

// prune removes every entry but key. Names starting with a dot are not
// entries: saves in progress and the lock.
func (c Cache) prune(key string) error {
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		return fmt.Errorf("prune cache: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if e.Name() == key || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		errs = append(errs, os.RemoveAll(filepath.Join(c.Dir, e.Name())))
	}
	return errors.Join(errs...)
}

// Lock waits until no other holder of the cache's lock has it, then takes
// it; unlock releases it. Builds that may make the same entry at the same
// time (of different apps sharing a cache) take it so that one makes the
// entry and the others restore it.
func (c Cache) Lock() (unlock func(), err error) {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock cache: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(c.Dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock cache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock cache: %w", err)
	}
	return func() { f.Close() }, nil
}

// Copy copies the tree src to dst, which must not exist. Symlinks are
// copied as symlinks, never followed; files other than regular files,
// directories and symlinks are skipped. With link, regular files are hard
// linked where the file system allows and copied elsewhere; copies keep
// their modification times.
func Copy(src, dst string, link bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return os.Mkdir(target, fi.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			to, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(to, target)
		case d.Type().IsRegular():
			if link && os.Link(path, target) == nil {
				return nil
			}
			return copyFile(path, target)
		}
		return nil
	})
}

// copyFile copies src to dst keeping its modification time: Python's
// bytecode caches are valid for their source's mtime.
func copyFile(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := buildpacks.CopyFile(dst, src, fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}
