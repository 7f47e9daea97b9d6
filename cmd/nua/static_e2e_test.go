package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2EStaticInDaemon pushes two static sites: nua serves them itself,
// with no process per site, confined to each site's files, and switches
// to a new release with no failed request.
func TestE2EStaticInDaemon(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "static")
	testutil.Commit(t, repo, "404.html", "<h1>site-not-found</h1>\n")
	// A link out of the repository fails the push; one to a dotfile is
	// kept and never followed.
	if err := os.Symlink(".env", filepath.Join(repo, "escape.html")); err != nil {
		t.Fatal(err)
	}
	testutil.Commit(t, repo, ".env", "SECRET=1\n")
	mustPush(t, s, repo, "one", "remote: -----> Static app detected")
	mustPush(t, s, testutil.NewRepo(t, "static"), "two")
	if n, _ := sitesRSS(s.Data); n != 0 {
		t.Fatalf("%d serve-static processes run, want none: the daemon serves the sites", n)
	}
	for _, app := range []string{"one", "two"} {
		ps, _ := s.SSH(nil, "ps", app)
		if psField(t, ps, "web.1", 1) != "up" {
			t.Fatalf("ps %s:\n%s", app, ps)
		}
	}
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/", 200, "nua-static-sample-index"},
		{"/about.html", 200, "<html"},
		{"/nope", 404, "site-not-found"},
		{"/.env", 404, "site-not-found"},
		{"/.git/config", 404, "site-not-found"},
		{"/escape.html", 404, "site-not-found"},
	} {
		if status, body := s.Get("one", tt.path); status != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("GET one%s = %d %.80q, want %d with %q", tt.path, status, body, tt.status, tt.body)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	var failed, total atomic.Int64
	stop := hammer(s, "one", &failed, &total)
	for i := range 2 {
		testutil.Commit(t, repo, "index.html", fmt.Sprintf("<h1>nua-static-sample-index round %d</h1>\n", i))
		mustPush(t, s, repo, "one")
		if _, body := s.Get("one", "/"); !strings.Contains(body, fmt.Sprintf("round %d", i)) {
			t.Fatalf("after redeploy %d GET / = %q", i, body)
		}
	}
	stop()
	if failed.Load() != 0 || total.Load() == 0 {
		t.Fatalf("%d of %d requests failed across two redeploys", failed.Load(), total.Load())
	}
	if _, body := s.Get("two", "/"); !strings.Contains(body, "nua-static-sample-index") {
		t.Fatalf("site two after one's redeploys: %q", body)
	}
	if out, code := s.SSH(nil, "apps:destroy", "one", "--confirm", "one"); code != 0 {
		t.Fatalf("apps:destroy: %d\n%s", code, out)
	}
	if status, _ := s.Get("one", "/"); status != 404 {
		t.Fatalf("a destroyed site answers %d", status)
	}
}
