package treecache_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/toolchains/internal/treecache"
)

func TestKey(t *testing.T) {
	if treecache.Key("ab", "c") == treecache.Key("a", "bc") {
		t.Fatal(`Key("ab", "c") == Key("a", "bc")`)
	}
	if got, want := treecache.Key("x", "y"), treecache.Key("x", "y"); got != want {
		t.Fatalf("Key is not stable: %s, %s", got, want)
	}
	if got := len(treecache.Key()); got != 32 {
		t.Fatalf("len(Key())=%d, want 32", got)
	}
}

// mustTree writes a small tree like an installed package dir: a nested
// file, an executable, a relative symlink and an old modification time.
func mustTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "node_modules")
	for _, d := range []string{"ms", ".bin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(dir, "ms", "index.js"), "module.exports = 1\n", 0o644)
	mustWrite(t, filepath.Join(dir, "ms", "cli.js"), "#!/usr/bin/env node\n", 0o755)
	if err := os.Symlink("../ms/cli.js", filepath.Join(dir, ".bin", "ms")); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "ms", "index.js"), old, old); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSaveRestore(t *testing.T) {
	for _, link := range []bool{false, true} {
		t.Run(map[bool]string{false: "copy", true: "link"}[link], func(t *testing.T) {
			src := mustTree(t)
			c := treecache.Cache{Dir: filepath.Join(t.TempDir(), "cache"), Link: link}
			key := treecache.Key("lock v1")
			if err := c.Save(key, src); err != nil {
				t.Fatalf("Save: %v", err)
			}
			dst := filepath.Join(t.TempDir(), "restored")
			if ok, err := c.Restore(key, dst); !ok || err != nil {
				t.Fatalf("Restore=%v, %v, want true", ok, err)
			}
			checkSame(t, src, dst, link)

			if ok, err := c.Restore(treecache.Key("lock v2"), filepath.Join(t.TempDir(), "x")); ok || err != nil {
				t.Fatalf("Restore of another key=%v, %v, want false, nil", ok, err)
			}
		})
	}
}

// checkSame compares the restored tree dst with src.
func checkSame(t *testing.T, src, dst string, link bool) {
	t.Helper()
	if got, err := os.ReadFile(filepath.Join(dst, "ms", "index.js")); err != nil || string(got) != "module.exports = 1\n" {
		t.Fatalf("restored file: %q, %v", got, err)
	}
	if to, err := os.Readlink(filepath.Join(dst, ".bin", "ms")); err != nil || to != "../ms/cli.js" {
		t.Fatalf("restored symlink: %q, %v, want ../ms/cli.js", to, err)
	}
	fi, err := os.Stat(filepath.Join(dst, "ms", "cli.js"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("restored executable: %v, %v, want mode 0755", fi.Mode(), err)
	}
	a, _ := os.Stat(filepath.Join(src, "ms", "index.js"))
	b, _ := os.Stat(filepath.Join(dst, "ms", "index.js"))
	if !a.ModTime().Equal(b.ModTime()) {
		t.Fatalf("mtime %v, want %v (bytecode caches depend on it)", b.ModTime(), a.ModTime())
	}
	if got := os.SameFile(a, b); got != link {
		t.Fatalf("restored file is the same file as the source: %v, want %v", got, link)
	}
}

func TestSavePrunes(t *testing.T) {
	c := treecache.Cache{Dir: t.TempDir()}
	unlock, err := c.Lock()
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	old, cur := treecache.Key("old"), treecache.Key("new")
	for _, key := range []string{old, cur} {
		if err := c.Save(key, mustTree(t)); err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] != ".lock" || names[1] != cur {
		t.Fatalf("cache holds %v, want [.lock %s]", names, cur)
	}
}

func TestSaveSameKeyTwice(t *testing.T) {
	c := treecache.Cache{Dir: t.TempDir()}
	key := treecache.Key("k")
	for i := range 2 {
		if err := c.Save(key, mustTree(t)); err != nil {
			t.Fatalf("Save %d: %v", i+1, err)
		}
	}
	if ok, err := c.Restore(key, filepath.Join(t.TempDir(), "r")); !ok || err != nil {
		t.Fatalf("Restore=%v, %v", ok, err)
	}
}

func TestRestoreIntoExisting(t *testing.T) {
	c := treecache.Cache{Dir: t.TempDir()}
	key := treecache.Key("k")
	if err := c.Save(key, mustTree(t)); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir() // exists
	mustWrite(t, filepath.Join(dst, "keep"), "x", 0o644)
	if ok, err := c.Restore(key, dst); ok || err == nil {
		t.Fatalf("Restore into an existing dir=%v, %v, want an error", ok, err)
	}
}

func TestLock(t *testing.T) {
	c := treecache.Cache{Dir: filepath.Join(t.TempDir(), "seeds")}
	unlock, err := c.Lock()
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	f, err := os.Open(filepath.Join(c.Dir, ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("second lock while held: %v, want EWOULDBLOCK", err)
	}
	unlock()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
}

func TestCopySkipsSpecialFiles(t *testing.T) {
	src := mustTree(t)
	if err := syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := treecache.Copy(src, dst, false); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dst, "fifo")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("fifo copied: %v", err)
	}
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
