package nua_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua"
)

func mustUser(t *testing.T, r *rig, name string) {
	t.Helper()
	if _, err := r.p.AddUser(name, false); err != nil {
		t.Fatal(err)
	}
}

func appNames(apps []nua.App) []string {
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	return names
}

func TestAccessAndOwnership(t *testing.T) {
	r := newRig(t, 5)
	mustUser(t, r, "alice")
	mustUser(t, r, "bob")
	if _, err := r.p.CreateApp("web", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.CreateApp("ops", ""); err != nil { // the admin socket's: no owner
		t.Fatal(err)
	}
	alice := nua.Identity{User: "alice"}
	bob := nua.Identity{User: "bob"}
	admin := nua.Identity{User: "root", Admin: true}
	for _, tt := range []struct {
		who  nua.Identity
		want []string
	}{{alice, []string{"web"}}, {bob, nil}, {admin, []string{"ops", "web"}}} {
		apps, err := r.p.AppsFor(tt.who)
		if err != nil || !slices.Equal(appNames(apps), tt.want) {
			t.Fatalf("AppsFor(%s)=%q, %v; want %q", tt.who.User, appNames(apps), err, tt.want)
		}
	}

	if err := r.p.AddCollaborator("web", "carol"); !errors.Is(err, nua.ErrNotFound) || !strings.Contains(err.Error(), "users") {
		t.Fatalf("AddCollaborator(unknown user) err=%v, want ErrNotFound pointing at `users`", err)
	}
	if err := r.p.AddCollaborator("web", "alice"); !errors.Is(err, nua.ErrInvalid) {
		t.Fatalf("AddCollaborator(owner) err=%v, want ErrInvalid", err)
	}
	if err := r.p.AddCollaborator("web", "bob"); err != nil {
		t.Fatal(err)
	}
	if apps, _ := r.p.AppsFor(bob); !slices.Equal(appNames(apps), []string{"web"}) {
		t.Fatalf("a collaborator's apps = %q, want web", appNames(apps))
	}
	if err := r.p.RemoveCollaborator("web", "alice"); !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), "apps:transfer") {
		t.Fatalf("RemoveCollaborator(owner) err=%v, want ErrInvalid pointing at apps:transfer", err)
	}
	if err := r.p.Transfer("web", "bob"); err != nil {
		t.Fatal(err)
	}
	acc, err := r.p.Access("web")
	if err != nil || acc.Owner != "bob" || !slices.Equal(acc.Collaborators, []string{"alice"}) {
		t.Fatalf("after transfer Access=%+v, %v; want bob owning, alice collaborating", acc, err)
	}
	if err := r.p.RemoveUser("bob"); !errors.Is(err, nua.ErrInvalid) {
		t.Fatalf("RemoveUser(an owner) err=%v, want ErrInvalid", err)
	}
}

// TestPushSessionNamesThePusher checks the hook learns who pushes from the
// daemon: only the token of a push in progress, to that app, answers.
func TestPushSessionNamesThePusher(t *testing.T) {
	r := newRig(t, 5)
	mustUser(t, r, "alice")
	for _, app := range []string{"web", "api"} {
		if _, err := r.p.CreateApp(app, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	alice := nua.Identity{User: "alice", Key: "laptop", Door: nua.DoorSSH}
	var token string
	r.repos.receive = func(app string, env []string) error {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "NUA_PUSH="); ok {
				token = v
			}
		}
		got, err := r.p.Pusher(token, "web")
		if err != nil || got != alice {
			t.Errorf("Pusher during the push = %+v, %v; want %+v", got, err, alice)
		}
		if _, err := r.p.Pusher(token, "api"); !errors.Is(err, nua.ErrForbidden) {
			t.Errorf("Pusher(token of web, api) err=%v, want ErrForbidden", err)
		}
		if _, err := r.p.Pusher("guess", "web"); !errors.Is(err, nua.ErrForbidden) {
			t.Errorf("Pusher(guessed token) err=%v, want ErrForbidden", err)
		}
		return nil
	}
	if err := r.p.Git(context.Background(), "git-receive-pack", "web", alice, nua.Stdio{}); err != nil {
		t.Fatal(err)
	}
	if len(token) < 20 {
		t.Fatalf("push token %q: want a long random one", token)
	}
	if _, err := r.p.Pusher(token, "web"); !errors.Is(err, nua.ErrForbidden) {
		t.Fatalf("Pusher after the push ended err=%v, want ErrForbidden", err)
	}
}

// TestEventsMembersSee checks who sees which events: a member those of
// their apps since they were made, an admin all, server-wide ones too.
func TestEventsMembersSee(t *testing.T) {
	r := newRig(t, 5)
	mustUser(t, r, "alice")
	mustUser(t, r, "bob")
	old := nua.Event{Time: time.Now().UTC().Add(-time.Hour), App: "web", User: "bob", Action: "config:set", Outcome: "ok"}
	r.p.Record(old, true) // an earlier app of the same name
	if _, err := r.p.CreateApp("web", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.CreateApp("api", "bob"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	r.p.Record(nua.Event{Time: now, App: "web", User: "alice", Action: "ps:scale", Outcome: "ok"}, true)
	r.p.Record(nua.Event{Time: now.Add(time.Millisecond), App: "api", User: "bob", Action: "rollback", Outcome: "ok"}, true)
	r.p.Record(nua.Event{Time: now.Add(2 * time.Millisecond), User: "root", Action: "users:add", Outcome: "ok"}, false)

	actions := func(evs []nua.Event) []string {
		var a []string
		for _, e := range evs {
			a = append(a, e.Action)
		}
		return a
	}
	tests := []struct {
		name string
		who  nua.Identity
		app  string
		n    int
		want []string
	}{
		{"member, one app", nua.Identity{User: "alice"}, "web", 10, []string{"ps:scale"}},
		{"member, all theirs", nua.Identity{User: "alice"}, "", 10, []string{"ps:scale"}},
		{"admin, one app, earlier one's too", nua.Identity{User: "root", Admin: true}, "web", 10, []string{"config:set", "ps:scale"}},
		{"admin, all", nua.Identity{User: "root", Admin: true}, "", 10, []string{"config:set", "ps:scale", "rollback", "users:add"}},
		{"admin, last 2", nua.Identity{User: "root", Admin: true}, "", 2, []string{"rollback", "users:add"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := r.p.Events(tt.who, tt.app, tt.n)
			if err != nil || !slices.Equal(actions(evs), tt.want) {
				t.Fatalf("Events=%q, %v; want %q", actions(evs), err, tt.want)
			}
		})
	}
}
