package buildpacks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
)

// TestToolEnv checks what build tools see: HOME and TMPDIR inside the
// app's cache, the host's PATH, and none of the server's other variables.
func TestToolEnv(t *testing.T) {
	t.Setenv("NUA_SERVER_SECRET", "not for builds")
	var seen bytes.Buffer
	pack := &fakePack{name: "Fake", detect: hasFile("app.x"), build: func(ctx context.Context, b *buildpacks.Build) error {
		cmd := b.Command(ctx, "sh", "-c", `echo "$HOME|$TMPDIR|$PATH|$NUA_SERVER_SECRET|$EXTRA"; touch "$TMPDIR/scratch"`)
		cmd.Env = b.ToolEnv("EXTRA=set", "HOME="+b.Home)
		cmd.Stdout = &seen
		b.Processes["web"] = "x"
		return cmd.Run()
	}}
	cache := t.TempDir()
	if _, err := buildpacks.New([]buildpacks.Buildpack{pack}).Build(t.Context(), mustSrc(t, map[string]string{"app.x": ""}), cache, nil, nil, nil); err != nil {
		t.Fatalf("Build: %v", err)
	}
	want := fmt.Sprintf("%s|%s|%s||set\n", filepath.Join(cache, "home"), filepath.Join(cache, ".tmp"), os.Getenv("PATH"))
	if got := seen.String(); got != want {
		t.Fatalf("tool saw %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(cache, ".tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("TMPDIR left after the build: %v", err)
	}
}

// TestHostEnv checks that a toolchain gets the server's value of each key
// it names that is set, and nothing else.
func TestHostEnv(t *testing.T) {
	t.Setenv("NUA_TEST_REGISTRY", "https://registry.example.org")
	t.Setenv("NUA_TEST_EMPTY", "")
	t.Setenv("NUA_SERVER_SECRET", "not for builds")
	os.Unsetenv("NUA_TEST_UNSET")
	got := buildpacks.HostEnv("NUA_TEST_REGISTRY", "NUA_TEST_EMPTY", "NUA_TEST_UNSET")
	want := []string{"NUA_TEST_REGISTRY=https://registry.example.org", "NUA_TEST_EMPTY="}
	if !slices.Equal(got, want) {
		t.Fatalf("HostEnv()=%q, want %q", got, want)
	}
}

// TestSlugLinks checks the links a build may leave in the slug.
func TestSlugLinks(t *testing.T) {
	protected := t.TempDir()
	tests := []struct {
		name    string
		link    func(b *buildpacks.Build) (target string)
		wantErr string
	}{
		{"inside the slug", func(b *buildpacks.Build) string { return "sub/../app.x" }, ""},
		{"absolute to a host file", func(b *buildpacks.Build) string { return "/usr/bin/env" }, ""},
		{"relative out of the slug", func(b *buildpacks.Build) string { return "../../etc/passwd" }, "symlink lib/link -> ../../etc/passwd leaves the slug"},
		{"into the cache", func(b *buildpacks.Build) string { return filepath.Join(b.Cache, "home") }, "points into nua's dir"},
		{"into a protected dir", func(b *buildpacks.Build) string { return protected }, "points into nua's dir " + protected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pack := &fakePack{name: "Linker", detect: hasFile("app.x"), build: func(_ context.Context, b *buildpacks.Build) error {
				b.Processes["web"] = "x"
				if err := os.MkdirAll(filepath.Join(b.Src, "lib"), 0o755); err != nil {
					return err
				}
				return os.Symlink(tt.link(b), filepath.Join(b.Src, "lib", "link"))
			}}
			_, err := buildpacks.New([]buildpacks.Buildpack{pack}, buildpacks.WithProtected(protected)).
				Build(t.Context(), mustSrc(t, map[string]string{"app.x": ""}), t.TempDir(), nil, nil, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				return
			}
			if !errors.Is(err, buildpacks.ErrOutside) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build: %v, want ErrOutside with %q", err, tt.wantErr)
			}
		})
	}
}

func TestCopyTree(t *testing.T) {
	src := mustSrc(t, map[string]string{"a/b.txt": "b", "run.sh": "#!/bin/sh\n", ".git/HEAD": "x", "skip/me": ""})
	if err := os.Chmod(filepath.Join(src, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a/b.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	skip := func(rel string) bool { return rel == ".git" || rel == "skip" }
	if err := buildpacks.CopyTree(dst, src, skip); err != nil {
		t.Fatalf("CopyTree: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "link")); err != nil || string(b) != "b" {
		t.Fatalf("link copied as %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dst, "run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Fatalf("run.sh lost its execute bit: %v", err)
	}
	for _, gone := range []string{".git", "skip"} {
		if _, err := os.Stat(filepath.Join(dst, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s was copied", gone)
		}
	}
	if err := buildpacks.CopyTree(dst, src, nil); !errors.Is(err, os.ErrExist) {
		t.Fatalf("CopyTree onto an existing dir: %v, want ErrExist", err)
	}

	for _, target := range []string{"/etc", "../outside"} {
		bad := mustSrc(t, map[string]string{"x": ""})
		if err := os.Symlink(target, filepath.Join(bad, "link")); err != nil {
			t.Fatal(err)
		}
		err := buildpacks.CopyTree(filepath.Join(t.TempDir(), "copy"), bad, nil)
		if err == nil || !strings.Contains(err.Error(), "points outside") {
			t.Fatalf("CopyTree with a link to %s: %v, want a refusal", target, err)
		}
	}
}
