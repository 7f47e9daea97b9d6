package docker

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/runtime/sandbox"
)

func frame(stream byte, s string) []byte {
	n := len(s)
	return append([]byte{stream, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, s...)
}

func TestDemux(t *testing.T) {
	tests := []struct {
		name           string
		in             []byte
		stdout, stderr string
		wantErr        bool
	}{
		{name: "both streams", in: slices.Concat(frame(1, "out 1\n"), frame(2, "err\n"), frame(1, "out 2\n")), stdout: "out 1\nout 2\n", stderr: "err\n"},
		{name: "empty", in: nil},
		{name: "truncated payload", in: frame(1, "hello")[:10], stdout: "he", wantErr: true},
		{name: "truncated header", in: []byte{1, 0, 0}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := demux(bytes.NewReader(tt.in), &out, &errb)
			if (err != nil) != tt.wantErr || out.String() != tt.stdout || errb.String() != tt.stderr {
				t.Fatalf("demux = %q, %q, %v; want %q, %q, error %v", out.String(), errb.String(), err, tt.stdout, tt.stderr, tt.wantErr)
			}
		})
	}
}

func FuzzDemux(f *testing.F) {
	f.Add(slices.Concat(frame(1, "a\n"), frame(2, "b")))
	f.Add([]byte{2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		demux(bytes.NewReader(in), &out, &out)
		if out.Len() > len(in) {
			t.Fatalf("demux wrote %d bytes from %d", out.Len(), len(in))
		}
	})
}

func TestReleaseTag(t *testing.T) {
	tests := []struct {
		slug, repo, tag string
		ok              bool
	}{
		{"/data/apps/hello/releases/v12", "nua/hello", "v12", true},
		{"/data/apps/hello/releases/.build-123", "", "", false},
		{"/data/apps/hello/releases/v", "", "", false},
		{"/tmp/x/v3", "", "", false},
	}
	for _, tt := range tests {
		repo, tag, ok := releaseTag(tt.slug)
		if repo != tt.repo || tag != tt.tag || ok != tt.ok {
			t.Errorf("releaseTag(%q) = %q, %q, %v; want %q, %q, %v", tt.slug, repo, tag, ok, tt.repo, tt.tag, tt.ok)
		}
	}
}

func TestContainerSpec(t *testing.T) {
	m := Manifest{Host: "unix:///x", Image: "sha256:abc", Commands: map[string]string{"worker": "run worker"}}
	env := []string{"PATH=/host/bin", "HOME=/data/apps/a/releases/v1", "NUA_APP=a", "NUA_DATA_DIR=/data/apps/a/data", "GREETING=hi", "PORT=5005", "PS=web.1"}
	web := containerSpecFor(m, RunConfig{Type: "web", Env: env})
	if web.Cmd != nil {
		t.Errorf("web Cmd = %q, want the image's own", web.Cmd)
	}
	if want := []string{"NUA_APP=a", "GREETING=hi", "PORT=5005", "PS=web.1"}; !slices.Equal(web.Env, want) {
		t.Errorf("Env = %q, want %q (no host variables)", web.Env, want)
	}
	if got := web.HostConfig.PortBindings["5005/tcp"]; len(got) != 1 || got[0] != (portBinding{HostIP: "127.0.0.1", HostPort: "5005"}) {
		t.Errorf("PortBindings = %v, want 127.0.0.1:5005 only", web.HostConfig.PortBindings)
	}
	if !web.HostConfig.Init || web.Labels["nua.app"] != "a" || web.Labels["nua.ps"] != "web.1" {
		t.Errorf("spec = %+v, want an init and the app's labels", web)
	}
	worker := containerSpecFor(m, RunConfig{Type: "worker", Env: []string{"PS=worker.1"}})
	if want := []string{"/bin/sh", "-c", "run worker"}; !slices.Equal(worker.Cmd, want) || worker.HostConfig.PortBindings != nil {
		t.Errorf("worker = %+v, want Cmd %q and no port", worker, want)
	}
}

// tarNames lists the entries of the build context of dir.
func tarNames(t *testing.T, dir string) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := tarDir(dir, &buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+">"+h.Linkname)
	}
}

func TestTarDirKeepsLinks(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Symlink("/etc/passwd", filepath.Join(dir, "sub", "link"))
	if got, want := tarNames(t, dir), []string{"Dockerfile>", "sub>", "sub/link>/etc/passwd"}; !slices.Equal(got, want) {
		t.Fatalf("tar entries = %q, want %q (links not followed)", got, want)
	}
}

func TestTarDirDockerignore(t *testing.T) {
	tests := []struct {
		name, ignore string
		want         []string
	}{
		{"none", "", []string{".dockerignore>", "Dockerfile>", "app.log>", "keep.log>", "main.go>", "secret>", "secret/key>", "vendor>", "vendor/keep.log>"}},
		{"files and a dir", "# build junk\n*.log\nsecret\n", []string{".dockerignore>", "Dockerfile>", "main.go>", "vendor>", "vendor/keep.log>"}},
		{"an exception", "**/*.log\n!keep.log\n", []string{".dockerignore>", "Dockerfile>", "keep.log>", "main.go>", "secret>", "secret/key>", "vendor>"}},
		{"an exception inside an ignored dir", "vendor\n!vendor/keep.log\n", []string{".dockerignore>", "Dockerfile>", "app.log>", "keep.log>", "main.go>", "secret>", "secret/key>", "vendor/keep.log>"}},
		{"never the Dockerfile", "*\n", []string{".dockerignore>", "Dockerfile>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"Dockerfile", "main.go", "app.log", "keep.log", "secret/key", "vendor/keep.log", ".dockerignore"} {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
				os.WriteFile(filepath.Join(dir, f), []byte(tt.ignore), 0o644)
			}
			if got := tarNames(t, dir); !slices.Equal(got, tt.want) {
				t.Fatalf("tar entries = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLimitCommand(t *testing.T) {
	slug := filepath.Join(t.TempDir(), "v3")
	if err := os.Mkdir(slug, 0o700); err != nil {
		t.Fatal(err)
	}
	im := Images{Kind: "docker", Nua: "/opt/nua/bin/nua"}
	l := sandbox.Limits{Memory: 96 << 20, CPU: 0.5, Tasks: 64}
	if _, ok := im.LimitCommand(slug, "web", RunCommand(im.Nua, "web"), l); ok {
		t.Fatal("LimitCommand claims a slug with no image manifest")
	}
	if err := WriteManifest(&buildpacks.Build{Src: slug, Meta: buildpacks.MetaDir(slug)}, Manifest{Image: "sha256:abc", Host: "unix:///run/podman.sock"}); err != nil {
		t.Fatal(err)
	}
	got, ok := im.LimitCommand(slug, "web", RunCommand(im.Nua, "web"), l)
	want := "exec /opt/nua/bin/nua container-run --memory=100663296 --cpu=0.5 --tasks=64 web"
	if !ok || got != want {
		t.Fatalf("LimitCommand = %q, %v; want %q", got, ok, want)
	}
	if got, ok := im.LimitCommand(slug, "web", "exec /elsewhere/nua container-run web", l); !ok || got != "exec /elsewhere/nua container-run web" {
		t.Fatalf("LimitCommand changed a command it did not make: %q, %v", got, ok)
	}
}
