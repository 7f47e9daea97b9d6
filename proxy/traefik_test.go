package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/proxy"
)

// mustBinary finds a Traefik binary: $NUA_TRAEFIK (which `make test`
// sets), the usual places, then the repository's bin/traefik (tests run in
// the package directory). Without one the test is skipped, unless
// NUA_E2E=require, when it fails.
func mustBinary(t *testing.T) string {
	t.Helper()
	if env := os.Getenv("NUA_TRAEFIK"); env != "" {
		bin, err := proxy.FindBinary(env)
		if err != nil {
			t.Fatalf("NUA_TRAEFIK: %v", err)
		}
		return bin
	}
	bin, err := proxy.FindBinary("")
	if err != nil {
		if b, err2 := proxy.FindBinary(filepath.Join("..", "bin", "traefik")); err2 == nil {
			return b
		}
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatalf("no Traefik binary and NUA_E2E=require: run make traefik: %v", err)
		}
		t.Skipf("no Traefik binary, run make traefik: %v", err)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// mustOpen starts a Traefik and stops it when the test ends, checking
// that its process is gone.
func mustOpen(t *testing.T) (*proxy.Traefik, proxy.Config) {
	t.Helper()
	cfg := proxy.Config{Dir: t.TempDir(), HTTPAddr: freeAddr(t), Binary: mustBinary(t)}
	tr := proxy.New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	if err := tr.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Logf("Open: traefik pid %d serving after %v", tr.PID(), time.Since(start))
	t.Cleanup(func() { mustClose(t, tr) })
	return tr, cfg
}

func mustClose(t *testing.T, tr *proxy.Traefik) {
	t.Helper()
	pid := tr.PID()
	start := time.Now()
	if err := tr.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	t.Logf("Close took %v", time.Since(start))
	r := proxy.Route{App: "late", Hosts: []string{"late.localhost"}, Servers: []string{"http://127.0.0.1:1"}}
	if err := tr.SetRoute(context.Background(), r); !errors.Is(err, proxy.ErrClosed) {
		t.Errorf("SetRoute after Close = %v, want ErrClosed", err)
	}
	if pid == 0 {
		return
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after Close, kill(%d, 0) = %v, want ESRCH: traefik still runs", pid, err)
	}
	if got := tr.PID(); got != 0 {
		t.Errorf("after Close, PID()=%d, want 0", got)
	}
}

// backend is a web instance answering its name.
func backend(t *testing.T, name string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

var client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// get sends GET / with the Host header through the web entrypoint.
func get(t *testing.T, httpAddr, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET via %s, Host %s: %v", httpAddr, host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func setRoute(t *testing.T, tr *proxy.Traefik, r proxy.Route) {
	t.Helper()
	start := time.Now()
	if err := tr.SetRoute(context.Background(), r); err != nil {
		t.Fatalf("SetRoute(%v): %v", r.Servers, err)
	}
	t.Logf("SetRoute(%s -> %v) live in %v", r.App, r.Servers, time.Since(start))
}

func wantBody(t *testing.T, httpAddr, host, want string) {
	t.Helper()
	code, body := get(t, httpAddr, host)
	if code != http.StatusOK || body != want {
		t.Fatalf("GET Host %s = %d %q, want 200 %q", host, code, body, want)
	}
}

func TestTraefikRoutes(t *testing.T) {
	tr, cfg := mustOpen(t)
	a, b := backend(t, "A"), backend(t, "B")
	const host = "myapp.localhost"
	route := proxy.Route{App: "myapp", Hosts: []string{host, "www.example.org"}}

	if code, _ := get(t, cfg.HTTPAddr, host); code != http.StatusNotFound {
		t.Fatalf("before any route, GET = %d, want 404", code)
	}
	if code, _ := tryGet(cfg.HTTPAddr+"/api/overview", "localhost"); code != http.StatusNotFound {
		t.Fatalf("GET /api/overview on the web entrypoint = %d, want 404: the API must stay on its own port", code)
	}
	if err := tr.SetRoute(context.Background(), proxy.Route{App: "x", Hosts: []string{"x.localhost"}, Servers: []string{"http://127.0.0.1:1"}}); err != nil {
		t.Fatalf("SetRoute to a server that is down: %v", err)
	}
	if err := tr.RemoveRoute(context.Background(), "x"); err != nil {
		t.Fatalf("RemoveRoute(x): %v", err)
	}

	route.Servers = []string{a}
	setRoute(t, tr, route)
	wantBody(t, cfg.HTTPAddr, host, "A")
	wantBody(t, cfg.HTTPAddr, "www.example.org", "A")

	route.Servers = []string{b}
	setRoute(t, tr, route)
	wantBody(t, cfg.HTTPAddr, host, "B")

	route.Servers = []string{a, b}
	setRoute(t, tr, route)
	seen := map[string]int{}
	for range 10 {
		code, body := get(t, cfg.HTTPAddr, host)
		if code != http.StatusOK {
			t.Fatalf("GET = %d %q, want 200", code, body)
		}
		seen[body]++
	}
	if seen["A"] == 0 || seen["B"] == 0 || len(seen) != 2 {
		t.Fatalf("10 GETs over two servers answered %v, want both A and B", seen)
	}

	start := time.Now()
	if err := tr.RemoveRoute(context.Background(), "myapp"); err != nil {
		t.Fatalf("RemoveRoute: %v", err)
	}
	t.Logf("RemoveRoute gone in %v", time.Since(start))
	if code, body := get(t, cfg.HTTPAddr, host); code != http.StatusNotFound {
		t.Fatalf("after RemoveRoute, GET = %d %q, want 404", code, body)
	}
	if err := tr.RemoveRoute(context.Background(), "myapp"); err != nil {
		t.Fatalf("RemoveRoute again: %v", err)
	}
	logRSS(t, tr.PID())
}

// logRSS notes Traefik's resident memory.
func logRSS(t *testing.T, pid int) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return
	}
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "VmHWM:") {
			t.Logf("traefik %s", strings.Join(strings.Fields(line), " "))
		}
	}
}

func TestTraefikBadRouteWritesNothing(t *testing.T) {
	tr, cfg := mustOpen(t)
	a := backend(t, "A")
	setRoute(t, tr, proxy.Route{App: "good", Hosts: []string{"good.localhost"}, Servers: []string{a}})
	before, err := os.ReadFile(filepath.Join(cfg.Dir, "dynamic", "good.yml"))
	if err != nil {
		t.Fatal(err)
	}

	bad := []proxy.Route{
		{App: "good", Hosts: []string{"good.localhost"}, Servers: []string{"ftp://127.0.0.1:21"}},
		{App: "good", Hosts: []string{"a`)||Host(`b"}, Servers: []string{a}},
		{App: "Bad", Hosts: []string{"bad.localhost"}, Servers: []string{a}},
		{App: "other", Hosts: []string{"other.localhost"}},
	}
	for _, r := range bad {
		if err := tr.SetRoute(context.Background(), r); !errors.Is(err, proxy.ErrInvalidRoute) {
			t.Errorf("SetRoute(%+v) = %v, want ErrInvalidRoute", r, err)
		}
	}
	if err := tr.RemoveRoute(context.Background(), "../traefik"); !errors.Is(err, proxy.ErrInvalidRoute) {
		t.Errorf("RemoveRoute(../traefik) = %v, want ErrInvalidRoute", err)
	}
	after, err := os.ReadFile(filepath.Join(cfg.Dir, "dynamic", "good.yml"))
	if err != nil || string(after) != string(before) {
		t.Fatalf("good.yml changed after refused routes (err %v):\n%s", err, after)
	}
	wantFiles(t, filepath.Join(cfg.Dir, "dynamic"), "good.yml")
	if _, err := os.Stat(filepath.Join(cfg.Dir, "traefik.yml")); err != nil {
		t.Errorf("static config: %v", err)
	}
	wantBody(t, cfg.HTTPAddr, "good.localhost", "A")
}

// wantFiles checks that dir holds exactly the named files.
func wantFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Fatalf("%s holds %q, want %q", dir, got, names)
	}
}

func TestTraefikRestartsAfterCrash(t *testing.T) {
	tr, cfg := mustOpen(t)
	a, b := backend(t, "A"), backend(t, "B")
	r := proxy.Route{App: "web", Hosts: []string{"web.localhost"}, Servers: []string{a}}
	setRoute(t, tr, r)
	old := tr.PID()
	if old == 0 {
		t.Fatal("PID()=0 after Open")
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, 15*time.Second, func() bool {
		pid := tr.PID()
		if pid == 0 || pid == old {
			return false
		}
		code, body := tryGet(cfg.HTTPAddr, "web.localhost")
		if code != http.StatusOK || body != "A" {
			return false
		}
		t.Logf("pid %d killed, pid %d serves the route again after %v", old, pid, time.Since(start))
		return true
	})

	// A route set while Traefik is down is served once it is back.
	old = tr.PID()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.Servers = []string{b}
	setRoute(t, tr, r)
	if pid := tr.PID(); pid == old || pid == 0 {
		t.Fatalf("PID()=%d after SetRoute, want a new pid (killed %d)", pid, old)
	}
	wantBody(t, cfg.HTTPAddr, "web.localhost", "B")
}

// eventually polls cond every 20ms until it holds; it fails the test
// after timeout.
func eventually(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("condition not met within %v", timeout)
		case <-tick.C:
		}
	}
}

// tryGet is get without failing: errors give code 0. target is
// HOST:PORT, optionally followed by a path.
func tryGet(target, host string) (int, string) {
	if !strings.Contains(target, "/") {
		target += "/"
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+target, nil)
	if err != nil {
		return 0, ""
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestTraefikOpenFailsOnBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tr := proxy.New(proxy.Config{Dir: t.TempDir(), HTTPAddr: l.Addr().String(), Binary: mustBinary(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = tr.Open(ctx)
	if err == nil {
		tr.Close(context.Background())
		t.Fatal("Open on a busy port succeeded")
	}
	t.Logf("Open: %v", err)
	if !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Open error %q does not say the address is in use", err)
	}
	if pid := tr.PID(); pid != 0 {
		t.Errorf("PID()=%d after a failed Open, want 0", pid)
	}
}

func TestRoutesNeedOpen(t *testing.T) {
	dir := t.TempDir()
	tr := proxy.New(proxy.Config{Dir: dir, HTTPAddr: "127.0.0.1:1", Binary: "traefik"})
	r := proxy.Route{App: "web", Hosts: []string{"web.localhost"}, Servers: []string{"http://127.0.0.1:5000"}}
	if err := tr.SetRoute(context.Background(), r); !errors.Is(err, proxy.ErrNotOpen) {
		t.Fatalf("SetRoute before Open = %v, want ErrNotOpen", err)
	}
	if err := tr.RemoveRoute(context.Background(), "web"); !errors.Is(err, proxy.ErrNotOpen) {
		t.Fatalf("RemoveRoute before Open = %v, want ErrNotOpen", err)
	}
	wantFiles(t, dir)
}

func TestExternalWritesFilesOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "traefik")
	tr := proxy.New(proxy.Config{Dir: dir, External: true})
	ctx := context.Background()
	if err := tr.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	r := proxy.Route{App: "blog", Hosts: []string{"blog.example.org"}, Servers: []string{"http://127.0.0.1:5000"}}
	if err := tr.SetRoute(ctx, r); err != nil {
		t.Fatalf("SetRoute: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "dynamic", "blog.yml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := proxy.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("blog.yml =\n%s\nwant\n%s", got, want)
	}
	if err := tr.SetRoute(ctx, proxy.Route{App: "blog", Hosts: []string{"blog.example.org"}, Servers: []string{"http://x:1/"}}); err == nil {
		t.Fatal("SetRoute accepted a bad server")
	}
	wantFiles(t, dir, "dynamic")
	wantFiles(t, filepath.Join(dir, "dynamic"), "blog.yml")
	if pid, api := tr.PID(), tr.APIAddr(); pid != 0 || api != "" {
		t.Errorf("External: PID()=%d APIAddr()=%q, want 0 and empty", pid, api)
	}
	if err := tr.RemoveRoute(ctx, "blog"); err != nil {
		t.Fatalf("RemoveRoute: %v", err)
	}
	wantFiles(t, filepath.Join(dir, "dynamic"))
	if err := tr.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestOpenRemovesLeftoverTempFiles(t *testing.T) {
	dir := t.TempDir()
	dyn := filepath.Join(dir, "dynamic")
	if err := os.MkdirAll(dyn, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".blog.yml.tmp123", "blog.yml", "operator.yaml"} {
		if err := os.WriteFile(filepath.Join(dyn, name), []byte("x: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr := proxy.New(proxy.Config{Dir: dir, External: true})
	if err := tr.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	wantFiles(t, dyn, "blog.yml", "operator.yaml")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     proxy.Config
		wantErr string
	}{
		{"external needs only dir", proxy.Config{Dir: "d", External: true}, ""},
		{"full", proxy.Config{Dir: "d", HTTPAddr: "127.0.0.1:80", Binary: "traefik"}, ""},
		{"no dir", proxy.Config{External: true}, "Dir"},
		{"bad addr", proxy.Config{Dir: "d", HTTPAddr: "8080", Binary: "traefik"}, "HTTPAddr"},
		{"no binary", proxy.Config{Dir: "d", HTTPAddr: ":8080"}, "make traefik"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate()=%v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}
