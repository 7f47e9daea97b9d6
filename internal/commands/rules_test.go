package commands

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/store"
	"github.com/urfave/cli/v2"
)

// TestEveryCommandHasARule walks the command tree of every door, hidden
// commands and subcommands included: a command with no rule fails here
// (and is refused at run time). The local door's own commands (server,
// dev...) are walked by cmd/nua's TestLocalCommandsHaveRules.
func TestEveryCommandHasARule(t *testing.T) {
	for _, door := range []Door{Local, Socket, SSH} {
		app := New(Options{Door: door})
		if missing := Unruled(app.Commands); len(missing) > 0 {
			t.Errorf("door %d: commands with no rule in commands/rules.go: %q", door, missing)
		}
		walk(app.Commands, func(cmd *cli.Command) { checkArg(t, cmd) })
	}
	for _, name := range []string{"help", "git-receive-pack", "git-upload-pack"} {
		if _, ok := RuleOf(name); !ok {
			t.Errorf("%s has no rule", name)
		}
	}
}

func walk(cmds []*cli.Command, fn func(*cli.Command)) {
	for _, cmd := range cmds {
		fn(cmd)
		walk(cmd.Subcommands, fn)
	}
}

// checkArg checks a rule's argument is where the command's usage puts
// the app (or the user).
func checkArg(t *testing.T, cmd *cli.Command) {
	t.Helper()
	rule := rules[cmd.Name]
	want := ""
	switch {
	case rule.appRule():
		want = "APP"
	case rule.Who == Self:
		want = "USER"
	default:
		return
	}
	words := strings.Fields(cmd.ArgsUsage)
	if rule.Arg >= len(words) || strings.Trim(words[rule.Arg], "[]") != want {
		t.Errorf("%s: rule checks argument %d as %s, usage is %q", cmd.Name, rule.Arg, want, cmd.ArgsUsage)
	}
}

// bench is a Platform on a real store with apps web (owned by alice, bob
// collaborates) and api (owned by carol).
type bench struct {
	p  *nua.Platform
	db *store.DB
}

func newBench(t *testing.T) *bench {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "nua.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := db.PutUser(nua.User{Name: u}); err != nil {
			t.Fatal(err)
		}
	}
	for app, owner := range map[string]string{"web": "alice", "api": "carol"} {
		if err := db.PutApp(nua.App{Name: app, Config: map[string]string{"SECRET": "s3cr3t"}}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetOwner(app, owner); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddCollaborator("web", "bob"); err != nil {
		t.Fatal(err)
	}
	p := nua.New(nua.Config{DataDir: t.TempDir(), Store: db, Repos: fakeRepos{}})
	return &bench{p: p, db: db}
}

// run runs a command line as user through the SSH door.
func (b *bench) run(user string, admin bool, args ...string) (string, int) {
	var out bytes.Buffer
	o := Options{
		Door: SSH, Platform: b.p, Who: nua.Identity{User: user, Admin: admin, Key: user + "-laptop", Door: nua.DoorSSH},
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out,
	}
	code := Run(context.Background(), o, args)
	return out.String(), code
}

// TestPermissionMatrix runs commands that need no running app as each
// kind of user: what a rule refuses exits 1 with one line saying who may.
func TestPermissionMatrix(t *testing.T) {
	b := newBench(t)
	tests := []struct {
		name  string
		user  string
		admin bool
		args  []string
		ok    bool
		want  string // in the output
	}{
		{"owner reads config", "alice", false, []string{"config", "web"}, true, "s3cr3t"},
		{"collaborator reads config", "bob", false, []string{"config:get", "web", "SECRET"}, true, "s3cr3t"},
		{"stranger reads config", "carol", false, []string{"config", "web"}, false, "no access to app web"},
		{"stranger, app that does not exist", "carol", false, []string{"config", "nope"}, false, "no access to app nope"},
		{"admin reads any config", "root", true, []string{"config", "api"}, true, "s3cr3t"},
		{"collaborator may not destroy", "bob", false, []string{"apps:destroy", "web", "--confirm", "web"}, false, "only the owner of web (alice)"},
		{"stranger may not destroy", "bob", false, []string{"apps:destroy", "api", "--confirm", "api"}, false, "no access to app api"},
		{"collaborator may not add access", "bob", false, []string{"access:add", "web", "carol"}, false, "only the owner"},
		{"collaborator sees access", "bob", false, []string{"access", "web"}, true, "alice"},
		{"member may not list users", "alice", false, []string{"users"}, false, "for admins"},
		{"member may not add users", "alice", false, []string{"users:add", "mallory", "--admin"}, false, "for admins"},
		{"member may not list others' keys", "alice", false, []string{"keys", "bob"}, false, "your own keys"},
		{"member may not add keys to others", "alice", false, []string{"keys:add", "bob", "x"}, false, "your own keys"},
		{"member may not remove others' keys", "alice", false, []string{"keys:remove", "admin", "x"}, false, "your own keys"},
		{"member lists own keys", "alice", false, []string{"keys"}, true, "USER"},
		{"member lists own apps", "bob", false, []string{"apps"}, true, "web"},
		{"whoami", "bob", false, []string{"whoami"}, true, "bob (member) with key bob-laptop through ssh"},
		{"bad app name is a usage error", "carol", false, []string{"config", "../x"}, false, "app name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := b.run(tt.user, tt.admin, tt.args...)
			if (code == 0) != tt.ok || !strings.Contains(out, tt.want) {
				t.Fatalf("%q as %s: exit %d, want ok=%t with %q:\n%s", tt.args, tt.user, code, tt.ok, tt.want, out)
			}
			if !tt.ok && strings.Count(strings.TrimSpace(out), "\n") > 0 {
				t.Fatalf("refusal is more than one line:\n%s", out)
			}
			if !tt.ok && strings.Contains(out, "s3cr3t") {
				t.Fatalf("a refusal showed a secret:\n%s", out)
			}
		})
	}
	if out, _ := b.run("bob", false, "apps"); strings.Contains(out, "api") {
		t.Fatalf("apps lists an app bob may not act on:\n%s", out)
	}
	if users, _ := b.db.Users(); slices.ContainsFunc(users, func(u nua.User) bool { return u.Name == "mallory" }) {
		t.Fatal("a refused users:add added the user")
	}
	if _, err := b.db.App("api"); err != nil {
		t.Fatalf("a refused destroy changed api: %v", err)
	}
}

// TestChangesAreRecorded checks the audit trail: who, key, door and
// outcome of changes and refusals, and config names without values.
func TestChangesAreRecorded(t *testing.T) {
	b := newBench(t)
	b.run("bob", false, "config:unset", "web", "SECRET")
	b.run("bob", false, "apps:destroy", "web", "--confirm", "web")
	b.run("carol", false, "ps:scale", "ghost", "web=2")
	b.run("root", true, "users:add", "dave", "--admin")
	b.run("alice", false, "config", "web") // reads are not recorded

	evs, err := b.db.Events("web", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("web's trail has %d events, want 2: %+v", len(evs), evs)
	}
	want := []nua.Event{
		{App: "web", User: "bob", Key: "bob-laptop", Door: "ssh", Action: "config:unset", Detail: "SECRET"},
		{App: "web", User: "bob", Key: "bob-laptop", Door: "ssh", Action: "apps:destroy"},
	}
	for i, w := range want {
		e := evs[i]
		if e.App != w.App || e.User != w.User || e.Key != w.Key || e.Door != w.Door || e.Action != w.Action || e.Detail != w.Detail || e.Time.IsZero() {
			t.Errorf("event %d = %+v, want %+v", i, e, w)
		}
	}
	if evs[0].Outcome != "ok" { // an app with no release only records its config
		t.Errorf("config:unset outcome %q, want ok", evs[0].Outcome)
	}
	if !strings.HasPrefix(evs[1].Outcome, "refused: only the owner") {
		t.Errorf("refused destroy outcome %q", evs[1].Outcome)
	}
	server, _ := b.db.Events("", 10)
	if len(server) != 2 || server[0].App != "ghost" || !strings.HasPrefix(server[0].Outcome, "refused") ||
		server[1].Action != "users:add" || server[1].Detail != "dave (admin)" || server[1].Outcome != "ok" {
		t.Fatalf("server trail = %+v, want the refusal on ghost then users:add dave (admin) ok", server)
	}
}

// TestConfigValuesNeverRecorded sets a config var: its name is in the
// trail, its value nowhere.
func TestConfigValuesNeverRecorded(t *testing.T) {
	b := newBench(t)
	b.run("alice", false, "config:set", "web", "TOKEN=hunter2", "B=x")
	evs, _ := b.db.Events("web", 10)
	if len(evs) != 1 || evs[0].Detail != "TOKEN B" {
		t.Fatalf("trail = %+v, want one config:set with detail \"TOKEN B\"", evs)
	}
	if strings.Contains(fmt.Sprintf("%+v", evs), "hunter2") {
		t.Fatalf("a config value reached the trail: %+v", evs)
	}
}

// TestHookTakesNoIdentity checks the hidden hook: absent from the SSH
// door, refused on the socket without a live push session, and with no
// way to name a user.
func TestHookTakesNoIdentity(t *testing.T) {
	b := newBench(t)
	if out, code := b.run("alice", false, "hook:pre-receive", "--repo", "/repos/web.git", "--push", "x"); code == 0 || !strings.Contains(out, "unknown command") {
		t.Fatalf("hook over ssh: exit %d\n%s", code, out)
	}
	socket := func(args ...string) (string, int) {
		var out bytes.Buffer
		o := Options{Door: Socket, Platform: b.p, Who: nua.Identity{User: "local:root", Admin: true, Door: nua.DoorSocket, System: true},
			Stdin: strings.NewReader(strings.Repeat("0", 40) + " " + strings.Repeat("1", 40) + " refs/heads/main\n"), Stdout: &out, Stderr: &out}
		code := Run(context.Background(), o, args)
		return out.String(), code
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no session", []string{"hook:pre-receive", "--repo", "/repos/web.git", "--push", "guess"}, "only inside a push"},
		{"no token", []string{"hook:pre-receive", "--repo", "/repos/web.git"}, "only inside a push"},
		{"forged user", []string{"hook:pre-receive", "--repo", "/repos/web.git", "--user", "alice"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := socket(tt.args...)
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want non-zero with %q:\n%s", code, tt.want, out)
			}
		})
	}
	if rels, _ := b.db.Releases("web"); len(rels) != 0 {
		t.Fatalf("a refused hook deployed: %+v", rels)
	}
}

// fakeRepos places the repositories; nothing is served.
type fakeRepos struct{ nua.Repos }

func (fakeRepos) Repo(app string) string { return "/repos/" + app + ".git" }
