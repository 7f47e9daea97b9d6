package buildpacks_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
)

// backendPack is a fakePack built through an outside engine.
type backendPack struct {
	*fakePack
	backend string
	missing error // what Available returns
	placed  []string
	removed []string
}

func (b *backendPack) Backend() string                 { return b.backend }
func (b *backendPack) Available(context.Context) error { return b.missing }
func (b *backendPack) LooksFor() string                { return "app." + b.backend + " (" + b.name + ")" }
func (b *backendPack) Place(_ context.Context, s string) error {
	b.placed = append(b.placed, s)
	return nil
}

func (b *backendPack) Remove(_ context.Context, s string) error {
	b.removed = append(b.removed, s)
	return nil
}

func newBackend(name, backend string, missing error) *backendPack {
	return &backendPack{
		fakePack: &fakePack{name: name, detect: hasFile("app." + backend), build: setsWeb("run")},
		backend:  backend, missing: missing,
	}
}

func TestBuilderBackends(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		env     []string
		missing error  // the docker backend's engine is missing
		want    string // the buildpack that builds, "" = the build fails
		errIs   error
		errText string
	}{
		{name: "detected backend first", files: map[string]string{"app.docker": "", "app.x": ""}, want: "Docker"},
		{name: "native forced", files: map[string]string{"app.docker": "", "app.x": ""}, env: []string{"NUA_BUILDER=native"}, want: "Native"},
		{name: "backend forced", files: map[string]string{"app.docker": "", "app.nix": ""}, env: []string{"NUA_BUILDER=nix"}, want: "Nix"},
		{
			name: "forced backend finds nothing", files: map[string]string{"app.x": ""}, env: []string{"NUA_BUILDER=nix"},
			errIs: buildpacks.ErrNoApp, errText: "NUA_BUILDER=nix, and nua looks for app.nix (Nix)",
		},
		{
			name: "unknown backend", files: map[string]string{"app.x": ""}, env: []string{"NUA_BUILDER=podman"},
			errText: `NUA_BUILDER="podman" is not a build backend: use one of native, docker, nix`,
		},
		{
			name: "engine missing", files: map[string]string{"app.docker": ""}, missing: errors.New("no Docker API at unix:///x.sock"),
			errIs:   buildpacks.ErrUnavailable,
			errText: "docker backend chosen (the app has app.docker) but no Docker API at unix:///x.sock; or set NUA_BUILDER=native to build without it",
		},
		{
			name: "engine missing, forced", files: map[string]string{"app.docker": ""}, env: []string{"NUA_BUILDER=docker"}, missing: errors.New("gone"),
			errIs: buildpacks.ErrUnavailable, errText: "docker backend chosen (NUA_BUILDER=docker) but gone",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docker := newBackend("Docker", "docker", tt.missing)
			nix := newBackend("Nix", "nix", nil)
			native := &fakePack{name: "Native", detect: hasFile("app.x"), build: setsWeb("run")}
			b := buildpacks.New([]buildpacks.Buildpack{docker, nix, native})
			res, err := b.Build(t.Context(), mustSrc(t, tt.files), t.TempDir(), tt.env, nil, io.Discard)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) || (tt.errIs != nil && !errors.Is(err, tt.errIs)) {
					t.Fatalf("Build: %v, want an error with %q", err, tt.errText)
				}
				if docker.built {
					t.Fatal("the unavailable backend built anyway")
				}
				return
			}
			if err != nil || res.Buildpack != tt.want {
				t.Fatalf("Build: %q, %v; want %q", res.Buildpack, err, tt.want)
			}
		})
	}
}

func TestBuilderPlaceRemove(t *testing.T) {
	docker := newBackend("Docker", "docker", nil)
	nix := newBackend("Nix", "nix", nil)
	b := buildpacks.New([]buildpacks.Buildpack{docker, nix})
	if err := b.Place(t.Context(), buildpacks.Result{Buildpack: "Nix"}, "/slugs/v1"); err != nil {
		t.Fatal(err)
	}
	if len(docker.placed) != 0 || !slices.Equal(nix.placed, []string{"/slugs/v1"}) {
		t.Fatalf("placed: docker %v, nix %v; want only nix /slugs/v1", docker.placed, nix.placed)
	}
	if err := b.Remove(t.Context(), "/slugs/v1"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(docker.removed, []string{"/slugs/v1"}) || !slices.Equal(nix.removed, []string{"/slugs/v1"}) {
		t.Fatalf("removed: docker %v, nix %v; want both asked", docker.removed, nix.removed)
	}
	got := b.Check(t.Context())
	if want := []string{"docker", "native", "nix"}; !slices.Equal(slices.Sorted(maps.Keys(got)), want) {
		t.Fatalf("Check()=%v, want keys %v", got, want)
	}
}

// TestBuilderChoice checks the rule that picks what builds an app, with
// the language toolchains listed before the backends as Builtin lists
// them: what the build says it chose, and what it ignored.
func TestBuilderChoice(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		env     []string
		want    string   // the buildpack that builds, "" = the build fails
		says    []string // lines the build output has
		errText string
	}{
		{
			name: "a Dockerfile beside a native app is ignored", files: map[string]string{"app.docker": "", "app.x": ""}, want: "Native",
			says: []string{"app.docker ignored: the Native buildpack builds the app; NUA_BUILDER=docker builds with it"},
		},
		{name: "a backend alone builds", files: map[string]string{"app.docker": ""}, want: "Docker"},
		{
			name: "heroku.yml asks for Docker", files: map[string]string{"app.docker": "", "app.x": "", "heroku.yml": "build:\n  docker:\n    web: Dockerfile\n"},
			want: "Docker", says: []string{"Chosen by heroku.yml's build section"},
		},
		{
			name: "NUA_BUILDER wins over heroku.yml", files: map[string]string{"app.docker": "", "app.x": "", "heroku.yml": "build:\n  docker:\n    web: Dockerfile\n"},
			env: []string{"NUA_BUILDER=native"}, want: "Native", says: []string{"Chosen by NUA_BUILDER=native"},
		},
		{
			name: "heroku.yml without a build section", files: map[string]string{"app.docker": "", "app.x": "", "heroku.yml": "run:\n  web: ./server\n"}, want: "Native",
			says: []string{"app.docker ignored"},
		},
		{
			name: "heroku.yml asks for Docker, no Dockerfile", files: map[string]string{"app.x": "", "heroku.yml": "build:\n  docker:\n    web: Dockerfile\n"},
			errText: "heroku.yml's build section, and nua looks for app.docker (Docker)",
		},
		{name: "heroku.yml that does not parse", files: map[string]string{"app.x": "", "heroku.yml": "build: [\n"}, errText: "read heroku.yml: yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docker := newBackend("Docker", "docker", nil)
			nix := newBackend("Nix", "nix", nil)
			native := &fakePack{name: "Native", detect: hasFile("app.x"), build: setsWeb("run")}
			b := buildpacks.New([]buildpacks.Buildpack{native, docker, nix})
			var out strings.Builder
			res, err := b.Build(t.Context(), mustSrc(t, tt.files), t.TempDir(), tt.env, nil, &out)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("Build: %v, want an error with %q", err, tt.errText)
				}
				return
			}
			if err != nil || res.Buildpack != tt.want {
				t.Fatalf("Build: %q, %v; want %q\n%s", res.Buildpack, err, tt.want, out.String())
			}
			for _, line := range tt.says {
				if !strings.Contains(out.String(), line) {
					t.Errorf("build output lacks %q:\n%s", line, out.String())
				}
			}
			if len(tt.says) == 0 && strings.Contains(out.String(), "ignored") {
				t.Errorf("build output says something was ignored:\n%s", out.String())
			}
		})
	}
}
