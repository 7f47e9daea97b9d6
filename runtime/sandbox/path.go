package sandbox

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// reachablePath keeps the entries of path that this process can search.
func reachablePath(path string) string {
	var keep []string
	for _, dir := range filepath.SplitList(path) {
		if dir != "" && unix.Access(dir, unix.X_OK) == nil {
			keep = append(keep, dir)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

// PublicPath splits path into the dirs every user can search (each dir
// and all above it open to others) and those it cannot. A sandboxed
// server runs with the first as its PATH, so that the tools its builds
// find are tools the apps' users can run.
func PublicPath(path string) (public string, dropped []string) {
	var keep []string
	for _, dir := range filepath.SplitList(path) {
		if dir != "" && searchable(dir) {
			keep = append(keep, dir)
		} else if dir != "" {
			dropped = append(dropped, dir)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator)), dropped
}

// searchable reports whether others may search dir and every dir above it.
func searchable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == filepath.Dir(dir) {
			return true
		}
		dir = filepath.Dir(dir)
	}
}
