package nua_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/diskuse"
	"github.com/nua-paas/nua/store"
)

// TestDiskFullRefusesBuilds: with less free than a build needs, a push is
// refused before anything is built and the running release stays.
func TestDiskFullRefusesBuilds(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	free, _, err := diskuse.Free(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "nua.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// A server that wants more than this disk has free.
	p := nua.New(nua.Config{DataDir: t.TempDir(), Store: db, Builder: r.builder, Runner: r.runner, Monitor: r.runner, Repos: r.repos, MinFree: int64(free) + 1<<40})
	if _, err := p.CreateApp("blog", nua.AdminUser); err != nil {
		t.Fatal(err)
	}
	r.runner.takeCalls()
	err = p.Deploy(t.Context(), nua.DeployRequest{App: "blog", Commit: "bbbbbbb1", Source: func(string) error { return nil }}, nil)
	if !errors.Is(err, nua.ErrDiskFull) || !strings.Contains(err.Error(), "system:df") {
		t.Fatalf("deploy on a full disk: %v, want ErrDiskFull saying what to do", err)
	}
	if calls := r.runner.takeCalls(); len(calls) != 0 {
		t.Fatalf("a refused deploy ran %q", calls)
	}
}

// TestPruneOrphans: what removed apps left goes; every existing app's
// files and the shared caches stay.
func TestPruneOrphans(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	data := r.p.DataDir()
	mk := func(rel string, n int) {
		p := filepath.Join(data, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"apps/shop/releases/v1/x", "cache/shop/x", "logs/shop/web.1.log", "repos/shop.git/HEAD", "cache/_go-build/x", "runtimes/npm/10.0.0/x"} {
		mk(f, 100)
	}
	for _, f := range []string{"apps/gone/releases/v3/x", "cache/gone/x", "logs/gone/web.1.log", "repos/gone.git/HEAD"} {
		mk(f, 1000)
	}
	removed, freed, err := r.p.PruneOrphans()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"apps/gone", "cache/gone", "logs/gone", "repos/gone.git"}; !slices.Equal(removed, want) || freed != 4000 {
		t.Fatalf("PruneOrphans = %q, %d bytes; want %q, 4000", removed, freed, want)
	}
	for _, f := range []string{"apps/shop/releases/v1/x", "cache/shop/x", "logs/shop/web.1.log", "repos/shop.git/HEAD", "cache/_go-build/x", "runtimes/npm/10.0.0/x"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	rep, err := r.p.Disk()
	if err != nil || len(rep.Apps) != 1 || rep.Apps[0].Total() != 400 || rep.Shared["go-build"] != 100 || rep.Shared["runtimes"] != 100 || rep.Free == 0 {
		t.Fatalf("Disk = %+v, %v", rep, err)
	}
}
