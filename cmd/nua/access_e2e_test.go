package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nua-paas/nua/internal/testutil"
)

// member is one of the test's users: their key, and how they reach the
// server with it.
type member struct {
	t   *testing.T
	s   *testutil.Server
	key string
}

func (m member) ssh(args ...string) (string, int) {
	m.t.Helper()
	return m.s.SSHWithKey(m.key, nil, args...)
}

func (m member) git(repo string, args ...string) (string, int) {
	m.t.Helper()
	return m.s.GitWithKey(m.key, repo, args...)
}

// refused checks a command was refused with one line saying so and a
// non-zero exit.
func refused(t *testing.T, what, out string, code int, want string) {
	t.Helper()
	if code == 0 || !strings.Contains(out, want) {
		t.Errorf("%s: exit %d, want a refusal with %q:\n%s", what, code, want, out)
		return
	}
	if lines := strings.Split(strings.TrimRight(out, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], " !     ") {
		t.Errorf("%s: the refusal is not one \" !     \" line:\n%s", what, out)
	}
}

// TestE2EAccess drives the permission matrix with three real keys (an
// admin, members A and B) through the real ssh and git clients, then
// reads the audit trail.
func TestE2EAccess(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	admin := member{t, s, s.Key}
	a := member{t, s, s.AddUser("alice", false)}
	b := member{t, s, s.AddUser("bob", false)}

	repo := testutil.NewRepo(t, "procfile")
	if out, code := a.git(repo, "push", s.Remote("a-app"), "main"); code != 0 {
		t.Fatalf("A's first push: exit %d\n%s\nserver log:\n%s", code, out, s.Log())
	}
	if out, code := a.ssh("config:set", "a-app", "SECRET=alice-only"); code != 0 {
		t.Fatalf("A's config:set: exit %d\n%s", code, out)
	}
	head := lsRemote(t, s, repo, "a-app")
	config, _ := a.ssh("config", "a-app", "--shell")
	releases, _ := a.ssh("releases", "a-app")

	t.Run("B is refused everything on A's app", func(t *testing.T) {
		bRepo := testutil.NewRepo(t, "procfile")
		testutil.Commit(t, bRepo, "b.txt", "bob was here")
		out, code := b.git(bRepo, "push", s.Remote("a-app"), "main")
		if code == 0 || strings.Count(out, "no access to app a-app") != 1 {
			t.Errorf("B's push: exit %d, want one refusal line:\n%s", code, out)
		}
		out, code = b.git(t.TempDir(), "clone", s.Remote("a-app"), "copy")
		if code == 0 || strings.Count(out, "no access to app a-app") != 1 {
			t.Errorf("B's clone: exit %d, want one refusal line:\n%s", code, out)
		}
		if out, code := b.ssh("apps"); code != 0 || strings.Contains(out, "a-app") {
			t.Errorf("B's apps: exit %d, lists A's app:\n%s", code, out)
		}
		for _, args := range [][]string{
			{"config", "a-app"}, {"config:get", "a-app", "SECRET"}, {"config:set", "a-app", "X=1"},
			{"run", "a-app", "echo", "hi"}, {"logs", "a-app"}, {"ps", "a-app"}, {"ps:scale", "a-app", "web=2"},
			{"releases", "a-app"}, {"rollback", "a-app"}, {"apps:info", "a-app"}, {"events", "a-app"},
			{"apps:destroy", "a-app", "--confirm", "a-app"}, {"access:add", "a-app", "bob"},
		} {
			out, code := b.ssh(args...)
			refused(t, "B's "+strings.Join(args, " "), out, code, "no access to app a-app")
			if strings.Contains(out, "alice-only") {
				t.Errorf("B's %q showed A's secret:\n%s", args, out)
			}
		}
		for _, args := range [][]string{{"users"}, {"users:add", "mallory", "--admin"}, {"keys", "alice"}, {"keys:remove", "alice", "alice-key"}} {
			out, code := b.ssh(args...)
			refused(t, "B's "+strings.Join(args, " "), out, code, "")
		}
	})

	t.Run("nothing changed", func(t *testing.T) {
		if got := lsRemote(t, s, repo, "a-app"); got != head {
			t.Errorf("main of a-app is %s, want %s", got, head)
		}
		if got, _ := a.ssh("config", "a-app", "--shell"); got != config {
			t.Errorf("config of a-app changed:\n%s\nwant:\n%s", got, config)
		}
		if got, _ := a.ssh("releases", "a-app"); got != releases {
			t.Errorf("releases of a-app changed:\n%s\nwant:\n%s", got, releases)
		}
		if out, _ := admin.ssh("users"); strings.Contains(out, "mallory") {
			t.Errorf("a refused users:add added a user:\n%s", out)
		}
		if _, code := a.ssh("whoami"); code != 0 {
			t.Error("A's key stopped working")
		}
	})

	t.Run("a collaborator pushes and reads, but does not destroy", func(t *testing.T) {
		if out, code := a.ssh("access:add", "a-app", "bob"); code != 0 {
			t.Fatalf("access:add: exit %d\n%s", code, out)
		}
		clone := filepath.Join(t.TempDir(), "clone")
		if out, code := b.git(filepath.Dir(clone), "clone", s.Remote("a-app"), clone); code != 0 {
			t.Fatalf("B's clone: exit %d\n%s", code, out)
		}
		testutil.Commit(t, clone, "b.txt", "bob was here")
		if out, code := b.git(clone, "push", s.Remote("a-app"), "main"); code != 0 || !strings.Contains(out, "Released v3") {
			t.Fatalf("B's push: exit %d, want v3 released\n%s", code, out)
		}
		if out, code := b.ssh("config:get", "a-app", "SECRET"); code != 0 || strings.TrimSpace(out) != "alice-only" {
			t.Fatalf("B's config:get: exit %d\n%s", code, out)
		}
		if out, code := b.ssh("apps"); code != 0 || !strings.Contains(out, "a-app") {
			t.Fatalf("B's apps: exit %d, lacks a-app\n%s", code, out)
		}
		out, code := b.ssh("apps:destroy", "a-app", "--confirm", "a-app")
		refused(t, "B's destroy", out, code, "only the owner of a-app (alice)")
	})

	t.Run("the admin does everything", func(t *testing.T) {
		if out, code := admin.ssh("apps"); code != 0 || !strings.Contains(out, "a-app") {
			t.Fatalf("admin's apps: exit %d\n%s", code, out)
		}
		if out, code := admin.ssh("run", "a-app", "echo", "admin-ran"); code != 0 || !strings.Contains(out, "admin-ran") {
			t.Fatalf("admin's run: exit %d\n%s", code, out)
		}
		if out, code := admin.ssh("keys", "alice"); code != 0 || !strings.Contains(out, "alice-key") {
			t.Fatalf("admin's keys alice: exit %d\n%s", code, out)
		}
		if out, code := s.CLI(nil, "config:set", "a-app", "FROM_SOCKET=1"); code != 0 {
			t.Fatalf("config:set through the socket: exit %d\n%s", code, out)
		}
	})

	t.Run("the trail records who did what", func(t *testing.T) {
		out, code := a.ssh("events", "a-app", "-n", "100")
		if code != 0 {
			t.Fatalf("events: exit %d\n%s", code, out)
		}
		for _, want := range []string{
			`a-app\s+alice\s+alice-key\s+ssh\s+apps:create\s+by a push\s+ok`,
			`a-app\s+alice\s+alice-key\s+ssh\s+push\s+refs/heads/main [0-9a-f]{7}\s+ok`,
			`a-app\s+alice\s+alice-key\s+ssh\s+config:set\s+SECRET\s+ok`,
			`a-app\s+bob\s+bob-key\s+ssh\s+push\s+-\s+refused: you have no access to app a-app`,
			`a-app\s+bob\s+bob-key\s+ssh\s+apps:destroy\s+-\s+refused: you have no access`,
			`a-app\s+alice\s+alice-key\s+ssh\s+access:add\s+bob\s+ok`,
			`a-app\s+bob\s+bob-key\s+ssh\s+push\s+refs/heads/main [0-9a-f]{7}\s+ok`,
			`a-app\s+bob\s+bob-key\s+ssh\s+apps:destroy\s+-\s+refused: only the owner`,
			`a-app\s+admin\s+tester\s+ssh\s+run\s+echo\s+ok`,
			`a-app\s+local:\S+\s+-\s+socket\s+config:set\s+FROM_SOCKET\s+ok`,
		} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("events lack /%s/:\n%s", want, out)
			}
		}
		if strings.Contains(out, "alice-only") {
			t.Errorf("the trail holds a config value:\n%s", out)
		}
		if out, _ := b.ssh("events"); strings.Contains(out, "users:add") || !strings.Contains(out, "a-app") {
			t.Errorf("B's events show server-wide events or lack a-app's:\n%s", out)
		}
		if out, _ := admin.ssh("events"); !strings.Contains(out, "users:add") {
			t.Errorf("the admin's events lack the server-wide ones:\n%s", out)
		}
	})

	t.Run("the owner destroys", func(t *testing.T) {
		if out, code := a.ssh("apps:destroy", "a-app", "--confirm", "a-app"); code != 0 {
			t.Fatalf("A's destroy: exit %d\n%s", code, out)
		}
		out, _ := admin.ssh("events", "a-app")
		if !regexp.MustCompile(`a-app\s+alice\s+alice-key\s+ssh\s+apps:destroy\s+-\s+ok`).MatchString(out) {
			t.Fatalf("the destroyed app's trail lacks its destruction:\n%s", out)
		}
	})
}

// TestE2EUpgradeKeepsKeys starts a server on a data dir an earlier nua
// made (nua.db in schema 1: keys with no user, one named "admin" as
// install.sh named it): every key still works, as the admin's, who owns
// the apps.
func TestE2EUpgradeKeepsKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := map[string]string{}
	var old []testutil.OldKey
	for _, name := range []string{"admin", "laptop"} {
		keys[name] = filepath.Join(dir, name)
		testutil.Run(t, "", nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keys[name])
		pub, err := os.ReadFile(keys[name] + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, testutil.OldKey{Name: name, Line: strings.TrimSpace(string(pub))})
	}
	s := testutil.StartServerData(t, func(data string) {
		testutil.WriteStoreV1(t, filepath.Join(data, "nua.db"), []string{"old-app"}, old)
	})
	for name, key := range keys {
		out, code := s.SSHWithKey(key, nil, "whoami")
		if code != 0 || !strings.Contains(out, "admin (admin) with key "+name) {
			t.Fatalf("old key %s: exit %d\n%s", name, code, out)
		}
	}
	if out, code := s.SSHWithKey(keys["laptop"], nil, "access", "old-app"); code != 0 || !regexp.MustCompile(`admin\s+owner`).MatchString(out) {
		t.Fatalf("access old-app: exit %d, want admin owning it\n%s", code, out)
	}
	repo := testutil.NewRepo(t, "procfile")
	if out, code := s.GitWithKey(keys["laptop"], repo, "push", s.Remote("old-app"), "main"); code != 0 {
		t.Fatalf("push with an old key: exit %d\n%s", code, out)
	}
	out, _ := s.SSHWithKey(keys["admin"], nil, "keys")
	for _, want := range []string{"admin", "laptop", "tester"} {
		if !strings.Contains(out, want) {
			t.Errorf("keys lack %s:\n%s", want, out)
		}
	}
}
