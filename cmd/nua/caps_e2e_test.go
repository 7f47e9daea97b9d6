package main_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2ECaps checks the caps a push meets on a server with small ones:
// app.json asking for more instances than --max-scale, a Procfile with
// more process types than an app may have, and a push larger than
// --max-push-size each fail with a message naming the cap, and deploy
// nothing; the same app within them deploys.
func TestE2ECaps(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, "--max-scale", "3", "--max-push-size", "100K")
	repo := procfileRepo(t, perlWeb, map[string]string{"app.json": `{"formation":{"web":{"quantity":5}}}`})
	refused := func(what, want string) {
		t.Helper()
		out, code := s.Push(repo, "app", "main")
		if code == 0 || !strings.Contains(out, want) {
			t.Fatalf("push of %s: exit %d, want it refused with %q:\n%s", what, code, want, out)
		}
		if out, _ := s.SSH(nil, "releases", "app"); strings.Contains(out, "v1") {
			t.Fatalf("a release after the push of %s:\n%s", what, out)
		}
	}
	refused("app.json over --max-scale", "app.json formation.web.quantity 5 is over this server's cap of 3 instances per process type (nua server --max-scale): lower it to 3 or less")
	testutil.Commit(t, repo, "app.json", `{"formation":{"web":{"quantity":2}}}`)

	var procfile strings.Builder
	procfile.WriteString(perlWeb)
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&procfile, "w%d: exec sleep 600\n", i)
	}
	good := testutil.Run(t, repo, nil, "git", "rev-parse", "HEAD")
	testutil.Commit(t, repo, "Procfile", procfile.String())
	refused("21 process types", `Procfile line 21: process type "w20" is one more than the 20 an app may have: merge or remove some`)
	testutil.Run(t, repo, nil, "git", "reset", "-q", "--hard", good)

	big := make([]byte, 1<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(repo, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Commit(t, repo, "NOTES", "with 1 MiB of noise\n")
	refused("1 MiB over a 100 KiB cap", " !     push too large: the push sent more than 100K, this server's cap (nua server --max-push-size), and was refused; nothing was deployed")
	if status, _ := s.Get("app", "/"); status == 200 {
		t.Fatal("the app answers after refused pushes only")
	}

	testutil.Run(t, repo, nil, "git", "reset", "-q", "--hard", good)
	mustPush(t, s, repo, "app")
	ps, _ := s.SSH(nil, "ps", "app")
	if psField(t, ps, "web.2", 1) != "up" {
		t.Fatalf("want web.1 and web.2 from app.json:\n%s", ps)
	}
}
