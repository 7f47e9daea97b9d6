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
