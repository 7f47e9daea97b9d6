package cnb_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/toolchains/cnb"
)

func TestCheckBuilder(t *testing.T) {
	trusted := []string{"paketobuildpacks/builder-jammy-base:0.4", "nua-cnb-builder:local"}
	tests := []struct {
		builder string
		err     string // "" = trusted
	}{
		{builder: "nua-cnb-builder:local"},
		{builder: "paketobuildpacks/builder-jammy-base:0.4"},
		{builder: "paketobuildpacks/builder-jammy-base", err: "builder paketobuildpacks/builder-jammy-base is not trusted on this server: an admin trusts it with `builders:trust paketobuildpacks/builder-jammy-base`"},
		{builder: "evil/builder:latest", err: "builder evil/builder:latest is not trusted on this server"},
		{builder: "nua-build/other-app-12345678", err: "it can never be trusted as a builder"},
		{builder: "0123456789abcdef", err: "looks like an image ID"},
	}
	for _, tt := range tests {
		t.Run(tt.builder, func(t *testing.T) {
			err := cnb.CheckBuilder(tt.builder, trusted)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("CheckBuilder(%q) = %v, want %q", tt.builder, err, tt.err)
			}
		})
	}
	if err := cnb.CheckBuilder("evil/builder:latest", nil); !errors.Is(err, cnb.ErrUntrusted) {
		t.Fatalf("CheckBuilder with nothing trusted = %v, want ErrUntrusted", err)
	}
}

// TestCheckBuildpackLocator checks each kind of buildpack project.toml
// may name, and each refusal's message.
func TestCheckBuildpackLocator(t *testing.T) {
	app := t.TempDir()
	allowed := t.TempDir()
	for _, d := range []string{filepath.Join(app, "bp"), filepath.Join(allowed, "bp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(app, "out")); err != nil {
		t.Fatal(err)
	}
	notIn := "is outside " + allowed + ", the only directory this server takes buildpacks from (nua server --buildpacks-dir)"
	tests := []struct {
		name, locator, dir string
		err                string // "" = accepted
	}{
		{name: "a registry id", locator: "urn:cnb:registry:heroku/nodejs@1.0.0"},
		{name: "the builder's", locator: "urn:cnb:builder:heroku/nodejs"},
		{name: "an id and version", locator: "paketo-buildpacks/nodejs@1.2.3"},
		{name: "an https archive", locator: "https://example.org/bp.tgz"},
		{name: "a buildpack image", locator: "docker://gcr.io/paketo-buildpacks/nodejs:1.2"},
		{name: "a path in the app", locator: "./bp"},
		{name: "a path in the app without ./", locator: "bp"},
		{name: "a path in the buildpacks dir", locator: filepath.Join(allowed, "bp"), dir: allowed},
		{name: "a file URL in the buildpacks dir", locator: "file://" + filepath.Join(allowed, "bp"), dir: allowed},
		{name: "an absolute path, no dir allowed", locator: "/var/lib/nua", err: "project.toml buildpack /var/lib/nua: bad buildpack URL: this server takes no buildpack from its own disk"},
		{name: "a missing absolute path", locator: "/var/lib/nua-nothing", dir: allowed, err: "nua-nothing " + notIn},
		{name: "an absolute path outside the dir", locator: outside, dir: allowed, err: notIn},
		{name: "a file URL outside the dir", locator: "file:///etc", dir: allowed, err: "project.toml buildpack file:///etc: bad buildpack URL: /etc " + notIn},
		{name: "a one-slash file URL", locator: "file:/etc", dir: allowed, err: "/etc " + notIn},
		{name: "a file URL of another host", locator: "file://host/srv/bp", dir: allowed, err: "give a local path: file:///path/to/buildpack"},
		{name: "a path out of the app", locator: "../../../etc", err: "project.toml buildpack ../../../etc leaves the app"},
		{name: "a link out of the app", locator: "out", err: "project.toml buildpack out leaves the app"},
		{name: "an app's build image", locator: "docker://nua-build/other-12345678:latest", err: "is an image nua's builds make"},
		{name: "a release image, named bare", locator: "nua/other:v3", err: "is an image nua's builds make"},
		{name: "plain http", locator: "http://example.org/bp.tgz", err: "use an https:// URL"},
		{name: "another scheme", locator: "ftp://example.org/bp.tgz", err: "use an https:// URL, docker://IMAGE, urn:cnb:registry:ID or a path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cnb.CheckBuildpackLocator(tt.locator, app, tt.dir)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("CheckBuildpackLocator(%q) = %v, want %q", tt.locator, err, tt.err)
			}
		})
	}
}

func FuzzCheckBuildpackLocator(f *testing.F) {
	for _, s := range []string{"urn:cnb:registry:a/b@1.0.0", "./bp", "/etc", "file:///etc", "file:/etc", "docker://nua/x:v1", "a/b", "../x", "https://h/x.tgz"} {
		f.Add(s)
	}
	app, allowed := f.TempDir(), f.TempDir()
	f.Fuzz(func(t *testing.T, locator string) {
		if cnb.CheckBuildpackLocator(locator, app, allowed) != nil {
			return
		}
		path, isFile := strings.CutPrefix(locator, "file:")
		if filepath.IsAbs(locator) || isFile && strings.HasPrefix(path, "/") {
			if !strings.HasPrefix(filepath.Clean(strings.TrimLeft(path, "/")), strings.TrimLeft(allowed, "/")) {
				t.Fatalf("accepted %q, outside %s", locator, allowed)
			}
		}
	})
}
