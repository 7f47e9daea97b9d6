package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// appEnv returns env with its PATH cut to the directories uid can reach:
// a host PATH that names a directory only root may enter (/root/.cargo/bin)
// would otherwise make the app's lookups fail with "permission denied"
// instead of finding the next match.
func (m *Manager) appEnv(env []string, uid int) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if path, ok := strings.CutPrefix(kv, "PATH="); ok {
			kv = "PATH=" + reachablePath(path, uid)
		}
		out = append(out, kv)
	}
	return out
}

// reachablePath keeps the entries of path that uid can search.
func reachablePath(path string, uid int) string {
	var keep []string
	for _, dir := range filepath.SplitList(path) {
		if dir != "" && Reachable(dir, uid) {
			keep = append(keep, dir)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

// Reachable reports whether uid (with gid uid and no other groups) can
// search dir and every directory above it.
func Reachable(dir string, uid int) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		mode := fi.Mode().Perm()
		var can bool
		switch {
		case int(st.Uid) == uid:
			can = mode&0o100 != 0
		case int(st.Gid) == uid:
			can = mode&0o010 != 0
		default:
			can = mode&0o001 != 0
		}
		if !can {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}
