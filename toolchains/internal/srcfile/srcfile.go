// Package srcfile reads the files of a pushed source tree that toolchains
// look at (manifests, lockfiles, version pins) without trusting them: only
// regular files at the top of the tree, never through a symlink, and never
// more than a size limit.
package srcfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotRegular means the named file is a symlink, a directory or another
// special file.
var ErrNotRegular = errors.New("not a regular file")

// Exists reports whether src holds a regular file called name. A symlink or
// a directory of that name is an error that names it.
func Exists(src, name string) (bool, error) {
	fi, err := os.Lstat(filepath.Join(src, name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("stat %s: %w", name, err)
	case !fi.Mode().IsRegular():
		return false, fmt.Errorf("%s: %w (a symlink or a directory?)", name, ErrNotRegular)
	}
	return true, nil
}

// Has reports whether src/name is a regular file, following a symlink:
// what most Detect methods ask.
func Has(src, name string) (bool, error) {
	fi, err := os.Stat(filepath.Join(src, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", name, err)
	}
	return fi.Mode().IsRegular(), nil
}

// Present reports whether src has an entry called name, of any kind. Detect
// methods use it: they say which toolchain builds the app, and the build
// then refuses a manifest that is not a regular file with a clear error.
func Present(src, name string) (bool, error) {
	_, err := os.Lstat(filepath.Join(src, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", name, err)
	}
	return true, nil
}

// Read returns the content of the regular file src/name, at most max
// bytes; a larger file is an error.
func Read(src, name string, max int64) ([]byte, error) {
	if strings.ContainsRune(name, os.PathSeparator) || name == ".." {
		return nil, fmt.Errorf("read %s: not a file name", name)
	}
	if ok, err := Exists(src, name); err != nil {
		return nil, fmt.Errorf("read %w", err)
	} else if !ok {
		return nil, fmt.Errorf("read %s: %w", name, fs.ErrNotExist)
	}
	f, err := os.OpenFile(filepath.Join(src, name), os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("read %s: larger than %d bytes", name, max)
	}
	return data, nil
}

// CheckBinDir refuses a bin that is not a plain directory: the pushed tree
// must not redirect the binaries a toolchain installs through a symlink.
func CheckBinDir(src string) error {
	fi, err := os.Lstat(filepath.Join(src, "bin"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check bin dir: %w", err)
	case !fi.IsDir():
		return errors.New("check bin dir: bin is not a directory (a symlink?): nua installs the app's binaries there")
	}
	return nil
}
