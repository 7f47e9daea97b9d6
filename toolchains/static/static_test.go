package static_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/static"
)

// site is the tree the server tests serve.
var site = map[string]string{
	"index.html":              "<h1>site-index</h1>",
	"about.html":              "<h1>site-about</h1>",
	"style.css":               "body { color: red }",
	"docs/index.html":         "<h1>docs-index</h1>",
	"docs/page.html":          "<h1>docs-page</h1>",
	"evil.example/index.html": "evil-dir-index",
	"images/logo.txt":         "not an index",
	".env":                    "SECRET=env-secret",
	".git/config":             "[core] git-secret",
	"docs/.hidden.html":       "hidden-secret",
	".well-known/x.txt":       "dot-dir-secret",
	"assets/.cache/a.css":     "dot-subdir-secret",
}

func TestHandler(t *testing.T) {
	dir := writeFiles(t, site)
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("outside-secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, ".git/config", filepath.Join(dir, "gitconfig.txt"))
	symlink(t, ".git", filepath.Join(dir, "repo"))
	symlink(t, outside, filepath.Join(dir, "outside.txt"))
	symlink(t, "about.html", filepath.Join(dir, "about-link.html"))
	base := serve(t, dir)

	tests := []struct {
		name, method, path string
		header             map[string]string
		wantStatus         int
		wantBody           string // the body contains it
		wantHeader         map[string]string
	}{
		{name: "index", path: "/", wantStatus: 200, wantBody: "site-index",
			wantHeader: map[string]string{"Cache-Control": "no-cache", "Content-Type": "text/html; charset=utf-8"}},
		{name: "page", path: "/about.html", wantStatus: 200, wantBody: "site-about"},
		{name: "asset cached", path: "/style.css", wantStatus: 200, wantBody: "color: red",
			wantHeader: map[string]string{"Cache-Control": "public, max-age=3600", "Content-Type": "text/css; charset=utf-8"}},
		{name: "subdir index", path: "/docs/", wantStatus: 200, wantBody: "docs-index"},
		{name: "subdir page", path: "/docs/page.html", wantStatus: 200, wantBody: "docs-page"},
		{name: "subdir without slash redirects", path: "/docs", wantStatus: 301,
			wantHeader: map[string]string{"Location": "/docs/"}},
		{name: "no open redirect", path: "//evil.example/", wantStatus: 200, wantBody: "evil-dir-index"},
		{name: "no open redirect without slash", path: "//evil.example", wantStatus: 301,
			wantHeader: map[string]string{"Location": "/evil.example/"}},
		{name: "redirect keeps the query", path: "/docs?a=1", wantStatus: 301,
			wantHeader: map[string]string{"Location": "/docs/?a=1"}},
		{name: "symlink inside the site", path: "/about-link.html", wantStatus: 200, wantBody: "site-about"},
		{name: "head", method: "HEAD", path: "/", wantStatus: 200},
		{name: "dir without index", path: "/images/", wantStatus: 404},
		{name: "file with a trailing slash", path: "/about.html/", wantStatus: 404},
		{name: "missing", path: "/nope.html", wantStatus: 404, wantBody: "404 page not found"},
		{name: "git config", path: "/.git/config", wantStatus: 404},
		{name: "git dir", path: "/.git/", wantStatus: 404},
		{name: "env", path: "/.env", wantStatus: 404},
		{name: "encoded dot", path: "/%2eenv", wantStatus: 404},
		{name: "dotfile in subdir", path: "/docs/.hidden.html", wantStatus: 404},
		{name: "dot dir", path: "/.well-known/x.txt", wantStatus: 404},
		{name: "dot subdir", path: "/assets/.cache/a.css", wantStatus: 404},
		{name: "dot-dot", path: "/docs/../.env", wantStatus: 404},
		{name: "symlink to a dotfile", path: "/gitconfig.txt", wantStatus: 404},
		{name: "symlink to a dot dir", path: "/repo/config", wantStatus: 404},
		{name: "symlink out of the site", path: "/outside.txt", wantStatus: 404},
		{name: "post", method: "POST", path: "/", wantStatus: 405, wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "range", path: "/style.css", header: map[string]string{"Range": "bytes=0-3"}, wantStatus: 206, wantBody: "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.method, base+tt.path, tt.header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s: status %d, want %d (body %q)", tt.method, tt.path, resp.StatusCode, tt.wantStatus, body)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body %q lacks %q", body, tt.wantBody)
			}
			if strings.Contains(body, "secret") {
				t.Errorf("body leaks a secret: %q", body)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if got := resp.Header.Get("X-Content-Type-Options"); tt.wantStatus < 400 && got != "nosniff" {
				t.Errorf("X-Content-Type-Options=%q, want nosniff", got)
			}
		})
	}
}

func TestHandlerRevalidate(t *testing.T) {
	base := serve(t, writeFiles(t, site))
	resp, _ := do(t, "GET", base+"/about.html", nil)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp, body := do(t, "GET", base+"/about.html", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("revalidation: %d %q, want 304 and no body", resp.StatusCode, body)
	}
}

func TestHandlerCustom404(t *testing.T) {
	base := serve(t, writeFiles(t, map[string]string{"index.html": "home", "404.html": "custom-missing-page"}))
	resp, body := do(t, "GET", base+"/.env", nil)
	if resp.StatusCode != http.StatusNotFound || body != "custom-missing-page" {
		t.Fatalf("GET /.env: %d %q, want 404 with the site's 404.html", resp.StatusCode, body)
	}
}

func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- static.ServeListener(ctx, ln, writeFiles(t, site)) }()
	if _, body := do(t, "GET", "http://"+ln.Addr().String()+"/", nil); !strings.Contains(body, "site-index") {
		t.Fatalf("GET /: %q", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeListener after cancel: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeListener did not return after its context ended")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("still listening after shutdown")
	}
}

func TestServeErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, dir, addr string }{
		{"missing dir", filepath.Join(t.TempDir(), "missing"), "127.0.0.1:0"},
		{"dir is a file", file, "127.0.0.1:0"},
		{"address in use", t.TempDir(), busy.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := static.Serve(t.Context(), tt.dir, tt.addr); err == nil {
				t.Fatal("Serve succeeded")
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"index.html", map[string]string{"index.html": "x"}, true},
		{"with a Procfile", map[string]string{"index.html": "x", "Procfile": "web: x"}, false},
		{"with a go.mod", map[string]string{"index.html": "x", "go.mod": "module x"}, false},
		{"index in a subdir", map[string]string{"public/index.html": "x"}, false},
		{"index.html is a directory", map[string]string{"index.html/x": ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := static.New().Detect(writeFiles(t, tt.files))
			if err != nil || got != tt.want {
				t.Fatalf("Detect=%v,%v, want %v", got, err, tt.want)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	b := &buildpacks.Build{Src: t.TempDir(), Processes: map[string]string{}}
	if err := (&static.Toolchain{Nua: "/opt/nua/bin/nua"}).Build(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if got, want := b.Processes["web"], "/opt/nua/bin/nua serve-static"; got != want {
		t.Fatalf("web=%q, want %q", got, want)
	}
}

// serve serves dir on 127.0.0.1 until the test ends and returns its URL.
func serve(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- static.ServeListener(ctx, ln, dir) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// do sends one request without following redirects.
func do(t *testing.T, method, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return resp, string(body)
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
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

// TestHandlerRelativeDir serves "." the way the web process does, from
// inside the slug.
func TestHandlerRelativeDir(t *testing.T) {
	t.Chdir(writeFiles(t, site))
	base := serve(t, ".")
	for path, want := range map[string]int{"/": 200, "/docs/page.html": 200, "/.env": 404, "/../": 200} {
		if resp, body := do(t, "GET", base+path, nil); resp.StatusCode != want || strings.Contains(body, "secret") {
			t.Errorf("GET %s: %d %q, want %d", path, resp.StatusCode, body, want)
		}
	}
}
