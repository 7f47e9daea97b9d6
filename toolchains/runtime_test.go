package toolchains_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWarmRebuild builds each sample that has a cache twice with the same
// cache: only the rebuild says it reuses the cache. Both times are logged
// (measured, not asserted: `make bench` reports them). A sample that needs
// a tool is skipped without it (failed under NUA_E2E=require) and, when it
// builds images, holds the container engine as the other image tests do.
func TestWarmRebuild(t *testing.T) {
	for _, s := range samples {
		if s.warm == "" {
			continue
		}
		t.Run(s.app, func(t *testing.T) {
			t.Parallel()
			needTool(t, s.needs)
			cache := mustCache(t)
			var times []time.Duration
			var outs []string
			for range 2 {
				var out bytes.Buffer
				start := time.Now()
				slug := copyApp(t, s.app)
				t.Cleanup(func() { newBuilder().Remove(context.Background(), slug) }) // images
				if _, err := newBuilder().Build(t.Context(), slug, cache, nil, nil, &out); err != nil {
					t.Fatalf("Build: %v\n%s", err, out.String())
				}
				times = append(times, time.Since(start))
				outs = append(outs, out.String())
			}
			if strings.Contains(outs[0], s.warm) {
				t.Fatalf("the first build says %q:\n%s", s.warm, outs[0])
			}
			if !strings.Contains(outs[1], s.warm) {
				t.Fatalf("the rebuild lacks %q:\n%s", s.warm, outs[1])
			}
			t.Logf("%s: cold build %s, warm rebuild %s", s.app, times[0], times[1])
		})
	}
}

// TestRuntimeMissing builds each sample on a PATH without its runtime: the
// build fails with one line naming the tool, what was found and what the
// app asks for.
func TestRuntimeMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, s := range samples {
		if s.missing == "" {
			continue
		}
		t.Run(s.app, func(t *testing.T) {
			var out bytes.Buffer
			_, err := newBuilder().Build(t.Context(), copyApp(t, s.app), t.TempDir(), nil, nil, &out)
			if err == nil || !strings.HasSuffix(err.Error(), s.missing) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Build: %v\nwant one line ending in %q", err, s.missing)
			}
		})
	}
}

// runRubyApp runs the Ruby sample the way procman does: `bundle exec`
// finds the gems installed in the slug.
func runRubyApp(t *testing.T, slug string, procs map[string]string) {
	for _, path := range []string{".bundle/config", "vendor/bundle/ruby"} {
		if _, err := os.Stat(filepath.Join(slug, path)); err != nil {
			t.Fatalf("slug lacks %s: %v", path, err)
		}
	}
	port := freePort(t)
	web, stdout := start(t, slug, procs["web"], "PORT="+port, "GREETING=tests")
	base := "http://127.0.0.1:" + port
	if got, want := mustGet(t, base+"/"), "hello from rubyapp tests\n"; got != want {
		t.Fatalf("GET / = %q, want %q", got, want)
	}
	if got, want := mustGet(t, base+"/env/BUNDLE_GEMFILE"), filepath.Join(slug, "Gemfile"); got != want {
		t.Fatalf("BUNDLE_GEMFILE = %q, want %q (the app runs under bundle exec)", got, want)
	}
	// procman stops a process by signalling its group.
	if err := syscall.Kill(-web.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if lines.Text() == "rubyapp shutting down" {
			return
		}
	}
	t.Fatalf("rubyapp did not say it shut down after SIGTERM (%v)", lines.Err())
}

// runRustApp runs the Rust sample's binary.
func runRustApp(t *testing.T, slug string, procs map[string]string) {
	port := freePort(t)
	startArgs(t, slug, []string{filepath.Join(slug, procs["web"])}, "PORT="+port, "NUA_SAMPLE=config-reached")
	base := "http://127.0.0.1:" + port
	if got, want := mustGet(t, base+"/"), "hello from rustapp world\n"; got != want {
		t.Fatalf("GET / = %q, want %q", got, want)
	}
	if got, want := mustGet(t, base+"/env/NUA_SAMPLE"), "config-reached"; got != want {
		t.Fatalf("GET /env/NUA_SAMPLE = %q, want %q", got, want)
	}
}
