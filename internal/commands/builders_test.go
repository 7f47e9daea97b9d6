package commands

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/store"
)

// TestBuilderCommands trusts, lists and untrusts builders through the
// command tree on a real store, and checks each refusal's message.
func TestBuilderCommands(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "nua.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := nua.New(nua.Config{Store: db})
	runAs := func(who nua.Identity, args ...string) (string, int) {
		t.Helper()
		var out bytes.Buffer
		o := Options{Door: SSH, Platform: p, Who: who, Stdout: &out, Stderr: &out, Stdin: strings.NewReader("")}
		code := Run(context.Background(), o, args)
		return out.String(), code
	}
	run := func(args ...string) (string, int) {
		t.Helper()
		return runAs(nua.Identity{User: "alice", Admin: true, Door: nua.DoorSSH}, args...)
	}
	for _, args := range [][]string{{"builders"}, {"builders:trust", "paketobuildpacks/builder-jammy-base:0.4"}, {"builders:untrust", "x"}} {
		if out, code := runAs(nua.Identity{User: "bob", Door: nua.DoorSSH}, args...); code != 1 || !strings.Contains(out, "for admins") {
			t.Fatalf("%q as a member: exit %d, want 1 and a refusal:\n%s", args, code, out)
		}
	}
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"builders"}, 0, "No trusted builders: CNB builds are refused until an admin runs builders:trust IMAGE"},
		{[]string{"builders:trust", "paketobuildpacks/builder-jammy-base:0.4"}, 0, "-----> Trusted builder paketobuildpacks/builder-jammy-base:0.4"},
		{[]string{"builders"}, 0, "paketobuildpacks/builder-jammy-base:0.4"},
		{[]string{"builders:trust", "paketobuildpacks/builder-jammy-base:0.4"}, 1, "builder paketobuildpacks/builder-jammy-base:0.4: already exists"},
		{[]string{"builders:trust", "nua-build/myapp-1a2b3c4d"}, 2, " !     bad image name: nua-build/myapp-1a2b3c4d is an image nua's builds make from an app's code: it can never be trusted as a builder"},
		{[]string{"builders:trust", "nua/myapp:v2"}, 2, "it can never be trusted as a builder"},
		{[]string{"builders:trust", "0123456789abcdef"}, 2, `"0123456789abcdef" looks like an image ID: name the image by its repository and tag`},
		{[]string{"builders:trust", "Not An Image"}, 2, `"Not An Image" is not an image name`},
		{[]string{"builders:trust"}, 2, "usage: nua builders:trust IMAGE"},
		{[]string{"builders:untrust", "heroku/builder:24"}, 1, "builder heroku/builder:24 is not trusted: not found"},
		{[]string{"builders:untrust", "paketobuildpacks/builder-jammy-base:0.4"}, 0, "-----> Untrusted builder paketobuildpacks/builder-jammy-base:0.4"},
		{[]string{"builders"}, 0, "No trusted builders"},
	}
	for _, s := range steps {
		out, code := run(s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("%q: exit %d, want %d and %q:\n%s", s.args, code, s.code, s.want, out)
		}
	}
	bs, err := db.TrustedBuilders()
	if err != nil || len(bs) != 0 {
		t.Fatalf("store after untrust: %+v, %v", bs, err)
	}
}
