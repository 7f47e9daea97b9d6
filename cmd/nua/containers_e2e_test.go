package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nua-paas/nua/internal/testutil"
)

// needBackend skips a test whose build backend's tool is missing, saying
// how to get it, unless NUA_E2E=require (as under `make test`, which
// installs it), when it fails.
func needBackend(t *testing.T, tool, how string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		msg := fmt.Sprintf("skipped: %s is missing: %s", tool, how)
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// TestE2ENix pushes the Nix sample app (a flake), redeploys it twice under
// a steady request loop, checks that a pruned release's store path is
// deleted while the live one is a GC root, and that a flake that does not
// evaluate fails the push with Nix's error while the app keeps serving.
func TestE2ENix(t *testing.T) {
	t.Parallel()
	needBackend(t, "nix", "run `make deps` (apt-get install nix-bin, and the nixbld group)")
	s := testutil.StartServer(t, "--keep-releases", "2")
	repo := testutil.NewRepo(t, "nixapp")
	out := mustPush(t, s, repo, "app")
	for _, want := range []string{"remote: -----> Nix app detected", "remote:        Programs: result/bin/nixapp"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	if status, body := s.Get("app", "/"); status != 200 || body != "hello from nixapp world\n" {
		t.Fatalf("GET / = %d %q, want the Nix sample", status, body)
	}
	first := storePath(t, s, 1)

	var failed, total atomic.Int64
	stop := hammer(s, "app", &failed, &total)
	greeting := "world"
	for i := range 2 {
		next := fmt.Sprintf("round%d", i)
		b, err := os.ReadFile(filepath.Join(repo, "server.pl"))
		if err != nil {
			t.Fatal(err)
		}
		testutil.Commit(t, repo, "server.pl", strings.Replace(string(b), "|| '"+greeting+"'", "|| '"+next+"'", 1))
		greeting = next
		mustPush(t, s, repo, "app")
		if status, body := s.Get("app", "/"); status != 200 || body != "hello from nixapp "+greeting+"\n" {
			t.Fatalf("GET / after redeploy %d = %d %q", i+1, status, body)
		}
	}
	stop()
	if failed.Load() != 0 || total.Load() < 10 {
		t.Fatalf("%d of %d requests failed during the Nix redeploys", failed.Load(), total.Load())
	}
	t.Logf("%d requests, none failed, during 2 Nix redeploys", total.Load())

	if _, err := os.Stat(first); err == nil {
		t.Errorf("v1's store path %s outlived its pruned release", first)
	}
	live := filepath.Join(s.Data, "apps", "app", "releases", "v3", "result")
	if !isGCRoot(t, live) {
		t.Errorf("%s is not a Nix GC root", live)
	}

	broken, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "apps", "broken-nix", "flake.nix"))
	if err != nil {
		t.Fatal(err)
	}
	testutil.Commit(t, repo, "flake.nix", string(broken))
	out, code := s.Push(repo, "app", "main")
	if code == 0 || !strings.Contains(out, "remote:        error: syntax error, unexpected ';'") {
		t.Fatalf("push of a broken flake: exit %d, want failure with Nix's error:\n%s", code, out)
	}
	if status, body := s.Get("app", "/"); status != 200 || body != "hello from nixapp "+greeting+"\n" {
		t.Fatalf("GET / after the failed push = %d %q, want the running release", status, body)
	}
}

// storePath is the store path release v's result link points at.
func storePath(t *testing.T, s *testutil.Server, v int) string {
	t.Helper()
	p, err := os.Readlink(filepath.Join(s.Data, "apps", "app", "releases", fmt.Sprintf("v%d", v), "result"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// isGCRoot reports whether Nix lists link as a GC root.
func isGCRoot(t *testing.T, link string) bool {
	t.Helper()
	out, err := exec.Command("nix-store", "--gc", "--print-roots").Output()
	if err != nil {
		t.Fatalf("nix-store --gc --print-roots: %v", err)
	}
	return strings.Contains(string(out), link+" -> ")
}
