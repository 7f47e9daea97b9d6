package main_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2EUnsandboxed runs a server whose apps are not confined, as one
// not started as root is (here: --sandbox=off): apps still deploy and run,
// as nua's own user, and the log and `resources` say so plainly.
func TestE2EUnsandboxed(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, "--sandbox=off")
	if !strings.Contains(s.Log(), "apps are NOT sandboxed") {
		t.Errorf("the startup log does not say apps are not sandboxed:\n%s", s.Log())
	}
	repo := testutil.NewRepo(t, "procfile")
	if out, code := s.Push(repo, "plain", "main"); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, out)
	}
	if status, body := s.Get("plain", "/"); status != 200 {
		t.Fatalf("GET / = %d %q", status, body)
	}
	out, code := s.SSH(nil, "run", "plain", "id", "-u")
	if code != 0 {
		t.Fatalf("run id -u: exit %d\n%s", code, out)
	}
	if got, want := strings.TrimSpace(out), strconv.Itoa(os.Geteuid()); got != want {
		t.Errorf("an unsandboxed app runs as uid %s, want nua's own %s", got, want)
	}
	out, _ = s.SSH(nil, "resources", "plain")
	if !strings.Contains(out, "These limits do not apply") {
		t.Errorf("resources does not say its limits do not apply:\n%s", out)
	}
}
