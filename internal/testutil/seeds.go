package testutil

import (
	"os"
	"path/filepath"
)

// PythonSeeds returns the dir of the Python toolchain's seed virtualenvs
// that tests on this machine share, as they share GOCACHE: making a seed
// takes seconds, and seeds depend only on the host's Python. Builds lock
// it, so concurrent test binaries may use it.
func PythonSeeds() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "nua", "python-seeds")
	return dir, os.MkdirAll(dir, 0o700)
}
