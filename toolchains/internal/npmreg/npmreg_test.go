package npmreg_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/nua-paas/nua/toolchains/internal/npmreg"
)

// entry is one entry of a test tarball.
type entry struct {
	name, body, link string
	mode             int64
}

func tarball(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// version is a version a test registry serves.
type version struct {
	engines   map[string]string
	tgz       []byte
	integrity string // "" = the tarball's own
}

// registry serves the packages of pkgs (name → version → what) on
// loopback, as the npm registry does, and counts the requests it gets.
func registry(t *testing.T, pkgs map[string]map[string]version) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if name, ok := strings.CutPrefix(r.URL.Path, "/-/"); ok { // a tarball: /-/NAME/VERSION
			i := strings.LastIndex(name, "/")
			v, ok := pkgs[name[:i]][name[i+1:]]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write(v.tgz)
			return
		}
		name := strings.TrimPrefix(r.URL.EscapedPath(), "/")
		name = strings.Replace(name, "%2f", "/", 1)
		versions, ok := pkgs[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		doc := map[string]map[string]any{"versions": {}}
		for s, v := range versions {
			sum := sha512.Sum512(v.tgz)
			integrity := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
			if v.integrity != "" {
				integrity = v.integrity
			}
			doc["versions"][s] = map[string]any{
				"engines": v.engines,
				"dist":    map[string]string{"tarball": srv.URL + "/-/" + name + "/" + s, "integrity": integrity},
			}
		}
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// tool is the tarball of version of a package "tool", whose engines field
// asks for node (any when "").
func tool(t *testing.T, version, node string) []byte {
	return tarball(t,
		entry{name: "package/package.json", body: `{"name":"tool","version":"` + version + `","bin":{"tool":"bin/tool.js"},"engines":{"node":"` + node + `"}}`},
		entry{name: "package/bin/tool.js", body: "#!/usr/bin/env node\nconsole.log('" + version + "')\n"},
		entry{name: "package/lib/link", link: "../bin/tool.js"},
	)
}

// nodeAtLeast accepts versions whose engines.node admits node v.
func nodeAtLeast(node string) npmreg.Want {
	nv := semver.MustParse(node)
	return func(_ *semver.Version, engines map[string]string) bool {
		c, err := semver.NewConstraint(engines["node"])
		return engines["node"] == "" || err == nil && c.Check(nv)
	}
}

func TestGetNewestThenCached(t *testing.T) {
	srv, hits := registry(t, map[string]map[string]version{"tool": {
		"1.0.0":      {tgz: tool(t, "1.0.0", "")},
		"1.2.0":      {tgz: tool(t, "1.2.0", ">=18"), engines: map[string]string{"node": ">=18"}},
		"2.0.0":      {tgz: tool(t, "2.0.0", ">=99"), engines: map[string]string{"node": ">=99"}},
		"2.1.0-beta": {tgz: tool(t, "2.1.0-beta", "")},
	}})
	c := &npmreg.Cache{Dir: t.TempDir(), Registry: srv.URL}
	p, err := c.Get(t.Context(), "tool", nodeAtLeast("20.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version.String() != "1.2.0" || !p.Fetched {
		t.Fatalf("Get = %s (fetched %v), want 1.2.0 fetched: the newest release node 20 may run", p.Version, p.Fetched)
	}
	bins, err := npmreg.Bins(p.Dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(bins["tool"])
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("bin tool: %v, %v; want an executable file", fi, err)
	}
	if got, err := os.ReadFile(filepath.Join(p.Dir, "lib", "link")); err != nil || !strings.Contains(string(got), "1.2.0") {
		t.Fatalf("the package's own symlink: %q, %v", got, err)
	}

	srv.Close() // from now on the cache alone answers
	before := hits.Load()
	again, err := c.Get(t.Context(), "tool", nodeAtLeast("20.0.0"))
	if err != nil || again.Version.String() != "1.2.0" || again.Fetched || again.Dir != p.Dir {
		t.Fatalf("second Get = %+v, %v; want 1.2.0 from the cache", again, err)
	}
	if _, err := c.Get(t.Context(), "tool", nodeAtLeast("16.0.0")); err == nil {
		t.Fatal("a version the cache lacks came from a closed registry")
	}
	if hits.Load() != before {
		t.Fatalf("the cached version asked the registry %d times", hits.Load()-before)
	}
}

// TestGetRefusesBadTarballs checks that a tarball whose hash differs from
// the registry's, or whose entries leave the package, is not unpacked.
func TestGetRefusesBadTarballs(t *testing.T) {
	good := tool(t, "1.0.0", "")
	tests := []struct {
		name string
		v    version
		want string
	}{
		{"hash mismatch", version{tgz: good, integrity: "sha512-" + base64.StdEncoding.EncodeToString(make([]byte, 64))}, "does not match"},
		{"no hash", version{tgz: good, integrity: "md5-abc"}, "no sha512 or sha1 hash"},
		{"dot-dot entry", version{tgz: tarball(t, entry{name: "package/../../evil", body: "x"})}, "leaves the package"},
		{"absolute entry", version{tgz: tarball(t, entry{name: "/etc/evil", body: "x"})}, "leaves the package"},
		{"symlink out", version{tgz: tarball(t, entry{name: "package/package.json", body: `{}`}, entry{name: "package/passwd", link: "/etc/passwd"})}, "leaves the package"},
		{"relative symlink out", version{tgz: tarball(t, entry{name: "package/package.json", body: `{}`}, entry{name: "package/up", link: "../../x"})}, "leaves the package"},
		{"bin out", version{tgz: tarball(t, entry{name: "package/package.json", body: `{"bin":{"x":"../../bin/sh"}}`})}, "leaves the package"},
		{"not gzip", version{tgz: []byte("not a tarball")}, "unpack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := registry(t, map[string]map[string]version{"tool": {"1.0.0": tt.v}})
			dir := t.TempDir()
			c := &npmreg.Cache{Dir: dir, Registry: srv.URL}
			_, err := c.Get(t.Context(), "tool", func(*semver.Version, map[string]string) bool { return true })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Get: %v, want an error with %q", err, tt.want)
			}
			entries, _ := os.ReadDir(filepath.Join(dir, "tool"))
			if len(entries) != 0 {
				t.Fatalf("the cache holds %v after a refused tarball", entries)
			}
		})
	}
}

func TestGetNoVersion(t *testing.T) {
	srv, _ := registry(t, map[string]map[string]version{"tool": {"1.0.0": {tgz: tool(t, "1.0.0", ">=99"), engines: map[string]string{"node": ">=99"}}}})
	c := &npmreg.Cache{Dir: t.TempDir(), Registry: srv.URL}
	if _, err := c.Get(t.Context(), "tool", nodeAtLeast("20.0.0")); !errors.Is(err, npmreg.ErrNoVersion) {
		t.Fatalf("Get = %v, want ErrNoVersion", err)
	}
	if _, err := c.Get(t.Context(), "missing", nodeAtLeast("20.0.0")); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Get of a package the registry lacks = %v, want its 404", err)
	}
	for _, name := range []string{"../etc", "Tool", "", "a/b", "@scope/../x"} {
		if _, err := c.Get(t.Context(), name, nodeAtLeast("20.0.0")); err == nil || !strings.Contains(err.Error(), "not an npm package name") {
			t.Errorf("Get(%q) = %v, want the name refused", name, err)
		}
	}
}
