package docker_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/docker"
)

// fakeEngine is a Docker Engine API on a unix socket that answers every
// call with an empty success and records it.
type fakeEngine struct {
	host  string
	mu    sync.Mutex
	calls []string
}

func newFakeEngine(t *testing.T) *fakeEngine {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	e := &fakeEngine{host: "unix://" + sock}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls = append(e.calls, r.Method+" "+r.URL.Path)
		e.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/containers/json") {
			io.WriteString(w, "[]")
			return
		}
		io.WriteString(w, "{}")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return e
}

func (e *fakeEngine) seen() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// TestPushedManifestSteersNothing checks that an image manifest in the
// slug, where a push or the app's code can write one, is never read: the
// slug gets no container one-off, and placing, removing or running it
// calls no engine. The manifest nua writes in the slug's metadata dir, to
// the same engine, does, and its one-off runs nua by absolute path.
func TestPushedManifestSteersNothing(t *testing.T) {
	e := newFakeEngine(t)
	slug := filepath.Join(t.TempDir(), "apps", "a", "releases", "v1")
	if err := os.MkdirAll(slug, 0o755); err != nil {
		t.Fatal(err)
	}
	pushed := `{"backend":"docker","host":"` + e.host + `","image":"sha256:victim","build_tag":"victim:latest"}`
	for _, name := range []string{".nua-container.json", docker.ManifestFile} {
		if err := os.WriteFile(filepath.Join(slug, name), []byte(pushed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	im := docker.Images{Kind: "docker", Nua: "/usr/lib/nua/nua"}
	ctx := context.Background()
	if argv, ok := im.WrapOneOff(slug, []string{"ls"}); ok {
		t.Errorf("WrapOneOff = %q: a pushed manifest made the one-off a container", argv)
	}
	if err := im.Place(ctx, slug); err != nil {
		t.Errorf("Place: %v", err)
	}
	if err := im.Remove(ctx, slug); err != nil {
		t.Errorf("Remove: %v", err)
	}
	_, err := docker.Run(ctx, docker.RunConfig{Type: "web", Dir: slug, Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "is this a Dockerfile app's slug?") {
		t.Errorf("Run = %v, want no manifest found", err)
	}
	if calls := e.seen(); len(calls) > 0 {
		t.Fatalf("a pushed manifest reached the engine: %q", calls)
	}

	// The manifest nua wrote, beside the slug.
	b := &buildpacks.Build{Src: slug, Meta: buildpacks.MetaDir(slug)}
	if err := docker.WriteManifest(b, docker.Manifest{Backend: "docker", Host: e.host, Image: "sha256:built"}); err != nil {
		t.Fatal(err)
	}
	argv, ok := im.WrapOneOff(slug, []string{"ls"})
	if want := []string{"/usr/lib/nua/nua", "container-run", "run", "--", "ls"}; !ok || !slices.Equal(argv, want) {
		t.Errorf("WrapOneOff = %q, %v; want %q", argv, ok, want)
	}
	if err := im.Place(ctx, slug); err != nil {
		t.Errorf("Place: %v", err)
	}
	calls := e.seen()
	if want := "POST /v1.41/images/sha256:built/tag"; !slices.Contains(calls, want) {
		t.Errorf("engine calls = %q, want %q: the slug's own manifest is read", calls, want)
	}
}

func TestRunCommand(t *testing.T) {
	tests := []struct{ nua, typ, want string }{
		{"/usr/local/bin/nua", "web", "exec /usr/local/bin/nua container-run web"},
		{"/opt/nua tools/nua", "worker", "exec '/opt/nua tools/nua' container-run worker"},
	}
	for _, tt := range tests {
		if got := docker.RunCommand(tt.nua, tt.typ); got != tt.want {
			t.Errorf("RunCommand(%q, %q) = %q, want %q", tt.nua, tt.typ, got, tt.want)
		}
	}
	got := docker.LimitedRunCommand("/usr/bin/nua", "worker", docker.Limits{Memory: 1 << 30, CPU: 2, Tasks: 512})
	if want := "exec /usr/bin/nua container-run --memory=1073741824 --cpu=2 --tasks=512 worker"; got != want {
		t.Errorf("LimitedRunCommand = %q, want %q", got, want)
	}
}
