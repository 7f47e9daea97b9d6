// Package diskuse measures what files take on disk and what is left.
package diskuse

import (
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Size returns the size of the regular files under path (0 when it does
// not exist); what it cannot read it skips.
func Size(path string) int64 {
	var n int64
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// Free returns the bytes free to an unprivileged user and the size of the
// file system that holds path.
func Free(path string) (free, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
}
