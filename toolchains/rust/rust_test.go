package rust_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/rust"
)

const (
	manifest = "[package]\nname = \"%s\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"
	mainRS   = "fn main() { println!(\"hi\"); }\n"
	lockV1   = "version = 3\n\n[[package]]\nname = \"%s\"\nversion = \"0.1.0\"\n"
)

func crate(name string, extra map[string]string) map[string]string {
	files := map[string]string{
		"Cargo.toml":  strings.ReplaceAll(manifest, "%s", name),
		"Cargo.lock":  strings.ReplaceAll(lockV1, "%s", name),
		"src/main.rs": mainRS,
	}
	maps.Copy(files, extra)
	return files
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		wantWeb  map[string]string
		wantBins []string
		wantOut  string
	}{
		{
			name:     "one binary is web",
			files:    crate("svc", map[string]string{"rust-toolchain.toml": "[toolchain]\nchannel = \"1.56\" # any newer rustc builds it\ncomponents = [\"rustfmt\"]\n"}),
			wantWeb:  map[string]string{"web": "bin/svc"},
			wantBins: []string{"svc"},
			wantOut:  "-----> Using rustc 1.",
		},
		{
			name:     "several binaries",
			files:    crate("multi", map[string]string{"src/bin/worker.rs": mainRS}),
			wantWeb:  map[string]string{},
			wantBins: []string{"multi", "worker"},
			wantOut:  " !     Several binaries (multi, worker): declare the web process in a Procfile\n",
		},
		{
			name:     "no Cargo.lock",
			files:    map[string]string{"Cargo.toml": strings.ReplaceAll(manifest, "%s", "nolock"), "src/main.rs": mainRS},
			wantWeb:  map[string]string{"web": "bin/nolock"},
			wantBins: []string{"nolock"},
			wantOut:  " !     No Cargo.lock: dependencies resolve afresh on each build; commit Cargo.lock\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, tt.files)
			if err := rust.New().Build(t.Context(), b); err != nil {
				t.Fatalf("Build: %v\n%s", err, out)
			}
			if !maps.Equal(b.Processes, tt.wantWeb) {
				t.Fatalf("Processes=%v, want %v\n%s", b.Processes, tt.wantWeb, out)
			}
			for _, bin := range tt.wantBins {
				if fi, err := os.Stat(filepath.Join(b.Src, "bin", bin)); err != nil || fi.Mode().Perm()&0o100 == 0 {
					t.Errorf("binary %s: %v", bin, err)
				}
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		setup   func(t *testing.T, b *buildpacks.Build)
		wantErr string
	}{
		{"channel too new", crate("x", map[string]string{"rust-toolchain.toml": "[toolchain]\nchannel = \"1.999.0\"\n"}), nil,
			"rust-toolchain.toml asks for Rust 1.999.0 but the server has rustc 1."},
		{"nightly on a stable host", crate("x", map[string]string{"rust-toolchain": "nightly-2024-01-01\n"}), nil,
			"rust-toolchain asks for Rust nightly-2024-01-01 but the server has rustc 1."},
		{"unknown channel", crate("x", map[string]string{"rust-toolchain.toml": "[toolchain]\nchannel = \"my-custom\"\n"}), nil,
			`rust-toolchain.toml: channel "my-custom" is not one nua can check`},
		{"lockfile out of sync", crate("x", map[string]string{"Cargo.lock": strings.ReplaceAll(lockV1, "%s", "other")}), nil,
			"cargo build: error: "},
		{"compile error", crate("x", map[string]string{"src/main.rs": "fn main() { undefined_thing(); }\n"}), nil,
			"cargo build: error[E0425]: cannot find function `undefined_thing`"},
		{"bin is a symlink", crate("x", nil), func(t *testing.T, b *buildpacks.Build) {
			if err := os.Symlink(t.TempDir(), filepath.Join(b.Src, "bin")); err != nil {
				t.Fatal(err)
			}
		}, "bin is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, tt.files)
			if tt.setup != nil {
				tt.setup(t, b)
			}
			err := rust.New().Build(t.Context(), b)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Build: %v, want one line with %q\n%s", err, tt.wantErr, out)
			}
		})
	}
}

// TestRedeployRecompilesOnlyChanges builds a crate, then a fresh copy of
// it with the same cache: cargo finds nothing to recompile; then a copy
// with one file changed: it recompiles.
func TestRedeployRecompilesOnlyChanges(t *testing.T) {
	cache := t.TempDir()
	build := func(files map[string]string) string {
		b, out := newBuild(t, files)
		b.Cache = cache
		if err := rust.New().Build(t.Context(), b); err != nil {
			t.Fatalf("Build: %v\n%s", err, out)
		}
		return out.String()
	}
	if out := build(crate("inc", nil)); !strings.Contains(out, "Compiling inc v0.1.0") || strings.Contains(out, "Reusing") {
		t.Fatalf("first build:\n%s", out)
	}
	if out := build(crate("inc", nil)); strings.Contains(out, "Compiling inc v0.1.0") || !strings.Contains(out, "Reusing the target dir") {
		t.Fatalf("unchanged redeploy recompiled:\n%s", out)
	}
	changed := crate("inc", map[string]string{"src/main.rs": "fn main() { println!(\"changed\"); }\n"})
	if out := build(changed); !strings.Contains(out, "Compiling inc v0.1.0") {
		t.Fatalf("changed redeploy did not recompile:\n%s", out)
	}
}

func TestDoctor(t *testing.T) {
	c := rust.New().Doctor(context.Background())
	if c.Problem != "" || len(c.Tools) != 2 || c.Tools[0].Name != "cargo" || c.Tools[1].Name != "rustc" {
		t.Fatalf("Doctor() = %+v, want cargo and rustc", c)
	}
	t.Setenv("PATH", t.TempDir())
	if c := rust.New().Doctor(context.Background()); !strings.HasPrefix(c.Problem, "cargo not found on PATH") {
		t.Fatalf("Doctor() without cargo = %+v", c)
	}
}

func newBuild(t *testing.T, files map[string]string) (*buildpacks.Build, *bytes.Buffer) {
	t.Helper()
	cache := t.TempDir()
	var out bytes.Buffer
	b := &buildpacks.Build{
		Src: writeFiles(t, files), Cache: cache, Home: t.TempDir(), Tmp: t.TempDir(),
		Out: buildpacks.NewOutput(&out), Processes: map[string]string{},
	}
	return b, &out
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
