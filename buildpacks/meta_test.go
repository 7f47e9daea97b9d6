package buildpacks_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
)

func TestMetaDir(t *testing.T) {
	tests := []struct{ slug, want string }{
		{"/data/apps/a/releases/v3", "/data/apps/a/releases/.v3.meta"},
		{"/data/apps/a/releases/v3/", "/data/apps/a/releases/.v3.meta"},
		{"/data/apps/a/releases/.build-123", "/data/apps/a/releases/..build-123.meta"},
	}
	for _, tt := range tests {
		if got := buildpacks.MetaDir(tt.slug); got != tt.want {
			t.Errorf("MetaDir(%q) = %q, want %q", tt.slug, got, tt.want)
		}
	}
}

// metaPack writes a file in its build's metadata dir, as the container
// backends write their image manifest.
func metaPack() *backendPack {
	p := newBackend("Meta", "meta", nil)
	p.build = func(_ context.Context, b *buildpacks.Build) error {
		b.Processes["web"] = "run"
		if err := os.MkdirAll(b.Meta, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(b.Meta, "record"), []byte("by nua"), 0o644)
	}
	return p
}

// TestMetaOutsideSlug checks that a build's metadata is kept beside its
// slug, never in it; that Place moves it with the slug; that a stale one
// does not survive a new build of the same dir; and that Remove frees the
// slug's builds and deletes its metadata, whether it is given the slug or
// (as a caller deleting every entry of a dir of slugs meets it first) the
// metadata dir.
func TestMetaOutsideSlug(t *testing.T) {
	for _, removeVia := range []string{"slug", "metadata dir"} {
		t.Run("removed via the "+removeVia, func(t *testing.T) {
			releases := t.TempDir()
			build := filepath.Join(releases, ".build-1")
			if err := os.MkdirAll(build, 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(build, "app.meta"), "")
			// A stale record of an earlier build in the same dir goes.
			if err := os.MkdirAll(buildpacks.MetaDir(build), 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(buildpacks.MetaDir(build), "stale"), "old")
			pack := metaPack()
			bl := buildpacks.New([]buildpacks.Buildpack{pack})
			res, err := bl.Build(t.Context(), build, t.TempDir(), nil, nil, io.Discard)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if _, err := os.Stat(filepath.Join(buildpacks.MetaDir(build), "stale")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a stale record survived the build: %v", err)
			}
			if _, err := os.Stat(filepath.Join(build, "record")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the record was written in the slug: %v", err)
			}
			slug := filepath.Join(releases, "v1")
			if err := os.Rename(build, slug); err != nil {
				t.Fatal(err)
			}
			if err := bl.Place(t.Context(), res, slug); err != nil {
				t.Fatalf("Place: %v", err)
			}
			if b, err := os.ReadFile(filepath.Join(releases, ".v1.meta", "record")); err != nil || string(b) != "by nua" {
				t.Fatalf("record beside v1 = %q, %v; want the build's", b, err)
			}
			if _, err := os.Stat(buildpacks.MetaDir(build)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the build's metadata dir is still there: %v", err)
			}
			target := slug
			if removeVia == "metadata dir" {
				target = buildpacks.MetaDir(slug)
			}
			if err := bl.Remove(context.Background(), target); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			if !slices.Equal(pack.removed, []string{slug}) {
				t.Errorf("removed %q, want the slug %q", pack.removed, slug)
			}
			if _, err := os.Stat(buildpacks.MetaDir(slug)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the slug's metadata outlived Remove: %v", err)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/local/bin/nua", "/usr/local/bin/nua"},
		{"/opt/my apps/nua", "'/opt/my apps/nua'"},
		{"/opt/it's/nua", `'/opt/it'\''s/nua'`},
		{"/x/$(reboot)", "'/x/$(reboot)'"},
		{"", "''"},
	}
	for _, tt := range tests {
		if got := buildpacks.ShellQuote(tt.in); got != tt.want {
			t.Errorf("ShellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
