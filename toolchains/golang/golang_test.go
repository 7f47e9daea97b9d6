package golang_test

import (
	"bytes"
	"go/version"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/golang"
)

const hello = "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n"

func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		env      []string
		wantWeb  map[string]string
		wantBins []string
		wantOut  string
	}{
		{
			name:     "binary named after the module",
			files:    map[string]string{"go.mod": "module example.com/svc\n\ngo 1.26\n", "main.go": hello, "cmd/tool/main.go": hello},
			wantWeb:  map[string]string{"web": "bin/svc"},
			wantBins: []string{"svc", "tool"},
		},
		{
			name:     "major version suffix",
			files:    map[string]string{"go.mod": "module \"example.com/svc/v2\" // quoted\n\ngo 1.26\n", "main.go": hello},
			wantWeb:  map[string]string{"web": "bin/svc"},
			wantBins: []string{"svc"},
		},
		{
			name:     "the only binary",
			files:    map[string]string{"go.mod": "module example.com/app\n", "cmd/server/main.go": hello, "lib/lib.go": "package lib\n"},
			wantWeb:  map[string]string{"web": "bin/server"},
			wantBins: []string{"server"},
		},
		{
			name:     "several binaries, none named after the module",
			files:    map[string]string{"go.mod": "module example.com/app\n", "cmd/a/main.go": hello, "cmd/b/main.go": hello},
			wantWeb:  map[string]string{},
			wantBins: []string{"a", "b"},
			wantOut:  " !     Several binaries and none named app: declare the web process in a Procfile\n",
		},
		{
			name:    "no main package",
			files:   map[string]string{"go.mod": "module example.com/lib\n", "lib.go": "package lib\n"},
			wantWeb: map[string]string{},
			wantOut: " !     No main package found: declare your processes in a Procfile\n",
		},
		{
			name: "GOFLAGS from the app's config",
			files: map[string]string{
				"go.mod":  "module example.com/tagged\n",
				"main.go": "package main\n\nfunc main() { run() }\n",
				"run.go":  "//go:build nuatag\n\npackage main\n\nfunc run() {}\n",
			},
			env:      []string{"GOFLAGS=-tags=nuatag"},
			wantWeb:  map[string]string{"web": "bin/tagged"},
			wantBins: []string{"tagged"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, tt.files, tt.env)
			if err := golang.New().Build(t.Context(), b); err != nil {
				t.Fatalf("Build: %v\n%s", err, out)
			}
			if !maps.Equal(b.Processes, tt.wantWeb) {
				t.Fatalf("Processes=%v, want %v\n%s", b.Processes, tt.wantWeb, out)
			}
			for _, bin := range tt.wantBins {
				if _, err := os.Stat(filepath.Join(b.Src, "bin", bin)); err != nil {
					t.Errorf("binary %s: %v", bin, err)
				}
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

// TestBuildSettings checks how binaries are compiled: static (no cgo) and
// without the build machine's paths.
func TestBuildSettings(t *testing.T) {
	b, out := newBuild(t, map[string]string{"go.mod": "module example.com/app\n", "main.go": hello}, nil)
	if err := golang.New().Build(t.Context(), b); err != nil {
		t.Fatalf("Build: %v\n%s", err, out)
	}
	info, err := exec.Command("go", "version", "-m", filepath.Join(b.Src, "bin", "app")).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath=true"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("build info lacks %s:\n%s", want, info)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(b.Cache, "go-build")); err != nil || len(entries) == 0 {
		t.Errorf("GOCACHE is not in the app's cache dir: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		setup    func(t *testing.T, b *buildpacks.Build)
		runtimes bool // with a runtime cache
		wantErr  string
	}{
		{
			name:    "go.mod asks for a newer go",
			files:   map[string]string{"go.mod": "module example.com/app\n\ngo 1.99\n", "main.go": hello},
			wantErr: "go.mod asks for go1.99.0 but the server has go1.",
		},
		{
			name:     "a toolchain no one released",
			files:    map[string]string{"go.mod": "module example.com/app\n\ngo 1.26\n\ntoolchain go1.26.999\n", "main.go": hello},
			runtimes: true,
			wantErr:  "fetch Go toolchain go1.26.999 through the module proxy: exit status 1: go: downloading go1.26.999",
		},
		{
			name:    "bad toolchain",
			files:   map[string]string{"go.mod": "module example.com/app\n\ngo 1.26\n\ntoolchain 1.26\n", "main.go": hello},
			wantErr: `invalid toolchain "1.26"`,
		},
		{
			name:    "no module line",
			files:   map[string]string{"go.mod": "go 1.26\n", "main.go": hello},
			wantErr: "read go.mod: no module line",
		},
		{
			name:    "bad go version",
			files:   map[string]string{"go.mod": "module x\n\ngo banana\n", "main.go": hello},
			wantErr: `invalid go version "banana"`,
		},
		{
			name:  "bin is a symlink out of the slug",
			files: map[string]string{"go.mod": "module example.com/app\n", "main.go": hello},
			setup: func(t *testing.T, b *buildpacks.Build) {
				if err := os.Symlink(t.TempDir(), filepath.Join(b.Src, "bin")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "bin is not a directory",
		},
		{
			name:    "compile error",
			files:   map[string]string{"go.mod": "module example.com/app\n", "main.go": "package main\n\nfunc main() { undefinedThing() }\n"},
			wantErr: "go build: exit status 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, tt.files, nil)
			if tt.setup != nil {
				tt.setup(t, b)
			}
			tc := golang.New()
			if tt.runtimes {
				tc.RuntimesDir = t.TempDir()
			}
			err := tc.Build(t.Context(), b)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build: %v, want an error with %q\n%s", err, tt.wantErr, out)
			}
		})
	}
}

// TestGoNotOnPath checks the one-line message when the host has no go.
func TestGoNotOnPath(t *testing.T) {
	b, out := newBuild(t, map[string]string{"go.mod": "module example.com/app\n\ngo 1.26\n", "main.go": hello}, nil)
	t.Setenv("PATH", t.TempDir())
	err := golang.New().Build(t.Context(), b)
	if got, want := errString(err), "go not found on PATH: install Go 1.26"; got != want {
		t.Fatalf("Build error %q, want %q\n%s", got, want, out)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"go.mod", map[string]string{"go.mod": "module x\n"}, true},
		{"go.mod is a directory", map[string]string{"go.mod/x": ""}, false},
		{"only go files", map[string]string{"main.go": hello}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := golang.New().Detect(writeFiles(t, tt.files))
			if err != nil || got != tt.want {
				t.Fatalf("Detect=%v,%v, want %v", got, err, tt.want)
			}
		})
	}
}

// newBuild returns a Build of a fresh source dir holding files, with a
// cache whose go-build is the host's (the std library is compiled once).
func newBuild(t *testing.T, files map[string]string, env []string) (*buildpacks.Build, *bytes.Buffer) {
	t.Helper()
	cache := t.TempDir()
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	if err := os.Symlink(strings.TrimSpace(string(gocache)), filepath.Join(cache, "go-build")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	return &buildpacks.Build{
		Src:       writeFiles(t, files),
		Cache:     cache,
		Env:       env,
		Out:       buildpacks.NewOutput(&out),
		Processes: map[string]string{},
	}, &out
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

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestBuildFlags(t *testing.T) {
	tests := []struct {
		name, value string
		want        []string
		err         bool
	}{
		{"unset", "", nil, false},
		{"two flags", " -tags=prod  -ldflags=-s ", []string{"-tags=prod", "-ldflags=-s"}, false},
		{"a package", "-tags=x ./cmd/other", nil, true},
		{"double dash", "--", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &buildpacks.Build{Env: []string{"GO_BUILD_FLAGS=" + tt.value}}
			got, err := golang.BuildFlags(b)
			if (err != nil) != tt.err || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("BuildFlags(%q)=%q, %v; want %q, error %t", tt.value, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestWantToolchain(t *testing.T) {
	const host = "go1.26.8"
	tests := []struct {
		gomod, want string
	}{
		{"module m\ngo 1.26\n", ""},
		{"module m\ngo 1.24\n", ""},
		{"module m\n", ""},
		{"module m\ngo 1.27\n", "go1.27.0"},
		{"module m\ngo 1.27.2\n", "go1.27.2"},
		{"module m\ngo 1.25\ntoolchain go1.25.5\n", "go1.25.5"},
		{"module m\ngo 1.26\ntoolchain go1.26.8\n", ""},
		{"module m\ngo 1.26\ntoolchain default\n", ""},
		{"module m\ngo 1.28\ntoolchain go1.28.1\n", "go1.28.1"},
	}
	for _, tt := range tests {
		mod, err := golang.ParseGoMod([]byte(tt.gomod))
		if err != nil {
			t.Fatalf("%q: %v", tt.gomod, err)
		}
		if got := golang.WantToolchain(mod, host); got != tt.want {
			t.Errorf("%q on %s: want toolchain %q, got %q", tt.gomod, host, tt.want, got)
		}
	}
	for _, bad := range []string{"module m\ntoolchain 1.25.5\n", "module m\ntoolchain go1.x\n", "module m\ntoolchain go1.25.5;rm\n"} {
		if _, err := golang.ParseGoMod([]byte(bad)); err == nil || !strings.Contains(err.Error(), "invalid toolchain") {
			t.Errorf("%q: %v, want invalid toolchain", bad, err)
		}
	}
}

// FuzzParseGoMod checks that a go.mod the toolchain accepts names a valid
// go version and a toolchain the go command takes as one.
func FuzzParseGoMod(f *testing.F) {
	for _, s := range []string{"module m\ngo 1.26\n", "module m\ngo 1.25\ntoolchain go1.25.5\n", "module m\ntoolchain default\n", "go 1.2\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mod, err := golang.ParseGoMod([]byte(s))
		if err != nil {
			return
		}
		want := golang.WantToolchain(mod, "go1.26.8")
		if want != "" && (!version.IsValid(want) || strings.ContainsAny(want, " \t\n;$`'\"/")) {
			t.Fatalf("go.mod %q: toolchain %q", s, want)
		}
	})
}
