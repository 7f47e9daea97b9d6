package ruby_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/ruby"
)

const lock = "GEM\n  remote: https://rubygems.org/\n  specs:\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n\nBUNDLED WITH\n   2.3.15\n"

// app is a Ruby app with no gems.
func app(extra map[string]string) map[string]string {
	files := map[string]string{"Gemfile": "source \"https://rubygems.org\"\n", "Gemfile.lock": lock}
	maps.Copy(files, extra)
	return files
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		env     []string
		wantWeb map[string]string
		wantOut []string
		bundle  string // expected BUNDLE_WITHOUT in the slug's .bundle/config
	}{
		{
			name:    "config.ru runs with rackup",
			files:   app(map[string]string{"config.ru": "run ->(env) { [200, {}, ['hi']] }\n"}),
			wantWeb: map[string]string{"web": ruby.WebCommand},
			wantOut: []string{"       bundle install (deployment mode, without development:test)\n"},
			bundle:  `BUNDLE_WITHOUT: "development:test"`,
		},
		{
			name:    "no config.ru and no Procfile",
			files:   app(nil),
			wantWeb: map[string]string{},
			wantOut: []string{" !     No config.ru: declare your processes in a Procfile"},
			bundle:  `BUNDLE_PATH: "vendor/bundle"`,
		},
		{
			name:  "committed .bundle and vendor/bundle are replaced",
			files: app(map[string]string{"Procfile": "web: ruby app.rb\n", ".bundle/config": "BUNDLE_PATH: \"/elsewhere\"\n", "vendor/bundle/stale": "x"}),
			env:   []string{"BUNDLE_WITHOUT=test"},
			wantOut: []string{
				" !     vendor/bundle is in the repository: nua replaces it with the installed gems\n",
				" !     .bundle is in the repository: nua replaces it (add .bundle to .gitignore)\n",
				"       bundle install (deployment mode, without test)\n",
			},
			wantWeb: map[string]string{},
			bundle:  `BUNDLE_WITHOUT: "test"`,
		},
		{
			name:    "ruby-version of an older Ruby 3",
			files:   app(map[string]string{".ruby-version": "ruby-3.0.1\n", "Procfile": "web: ruby app.rb\n"}),
			wantWeb: map[string]string{},
			wantOut: []string{" (.ruby-version: 3.0.1)\n"},
			bundle:  `BUNDLE_DEPLOYMENT: "true"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, tt.files, tt.env)
			if err := ruby.New().Build(t.Context(), b); err != nil {
				t.Fatalf("Build: %v\n%s", err, out)
			}
			if !maps.Equal(b.Processes, tt.wantWeb) {
				t.Fatalf("Processes=%v, want %v", b.Processes, tt.wantWeb)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			config, err := os.ReadFile(filepath.Join(b.Src, ".bundle", "config"))
			if err != nil || !strings.Contains(string(config), tt.bundle) {
				t.Fatalf(".bundle/config = %q, %v; want %q", config, err, tt.bundle)
			}
			if _, err := os.Stat(filepath.Join(b.Src, "vendor", "bundle", "stale")); err == nil {
				t.Fatal("the committed vendor/bundle survived")
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		env     []string
		wantErr string
	}{
		{"ruby-version too new", app(map[string]string{".ruby-version": "3.99.1\n"}), nil,
			".ruby-version asks for ruby 3.99.1 but the server has ruby 3."},
		{"ruby-version of another major", app(map[string]string{".ruby-version": "2.7.8\n"}), nil,
			".ruby-version asks for ruby 2.7.8 but the server has ruby 3."},
		{"ruby-version not a version", app(map[string]string{".ruby-version": "jruby-9.4\n"}), nil,
			`.ruby-version: "jruby-9.4" is not a Ruby version: write e.g. 3.1 or 3.1.2`},
		{"no Gemfile.lock", map[string]string{"Gemfile": "source \"https://rubygems.org\"\n"}, nil,
			"Gemfile.lock not found: run `bundle lock` and commit Gemfile.lock"},
		{"lock of a newer Bundler", app(map[string]string{"Gemfile.lock": strings.Replace(lock, "2.3.15", "9.1.0", 1)}), nil,
			"Gemfile.lock asks for Bundler 9.1.0 but the server has Bundler 2."},
		{"lock out of sync", app(map[string]string{"Gemfile": "source \"https://rubygems.org\"\ngem \"rack\"\n"}), nil,
			"bundle install: exit status 16"},
		{"bad BUNDLE_WITHOUT", app(nil), []string{"BUNDLE_WITHOUT=$(rm -rf /)"}, "BUNDLE_WITHOUT config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, tt.files, tt.env)
			err := ruby.New().Build(t.Context(), b)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build: %v, want an error with %q\n%s", err, tt.wantErr, out)
			}
		})
	}
}

// TestBundlerMissing checks the one line when the host has Ruby but no
// Bundler.
func TestBundlerMissing(t *testing.T) {
	bin := t.TempDir()
	if err := os.Symlink("/usr/bin/ruby", filepath.Join(bin, "ruby")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	b, _ := newBuild(t, app(nil), nil)
	err := ruby.New().Build(t.Context(), b)
	want := "bundle not found on PATH (found: none, wanted: Bundler 2.3.15 (Gemfile.lock)): install Bundler on the server (apt-get install ruby ruby-bundler)"
	if err == nil || err.Error() != want {
		t.Fatalf("Build: %v, want %q", err, want)
	}
}

func TestDoctor(t *testing.T) {
	c := ruby.New().Doctor(context.Background())
	if c.Problem != "" || len(c.Tools) != 2 || c.Tools[0].Name != "ruby" || !strings.HasPrefix(c.Tools[0].Version, "3.") {
		t.Fatalf("Doctor() = %+v, want ruby 3.x and bundle", c)
	}
	t.Setenv("PATH", t.TempDir())
	if c := ruby.New().Doctor(context.Background()); !strings.HasPrefix(c.Problem, "ruby not found on PATH") {
		t.Fatalf("Doctor() without ruby = %+v", c)
	}
}

func TestDetect(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"Gemfile", map[string]string{"Gemfile": ""}, true},
		{"Gemfile is a directory", map[string]string{"Gemfile/x": ""}, false},
		{"only ruby files", map[string]string{"app.rb": ""}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ruby.New().Detect(writeFiles(t, tt.files)); err != nil || got != tt.want {
				t.Fatalf("Detect=%v,%v, want %v", got, err, tt.want)
			}
		})
	}
}

func newBuild(t *testing.T, files map[string]string, env []string) (*buildpacks.Build, *bytes.Buffer) {
	t.Helper()
	cache := t.TempDir()
	var out bytes.Buffer
	b := &buildpacks.Build{
		Src: writeFiles(t, files), Cache: cache, Home: filepath.Join(cache, "home"), Tmp: t.TempDir(),
		Env: env, Out: buildpacks.NewOutput(&out), Processes: map[string]string{},
	}
	if err := os.Mkdir(b.Home, 0o700); err != nil {
		t.Fatal(err)
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
