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

// waitNotices waits for the deliveries under way and returns what the
// recorder got.
func waitNotices(t *testing.T, r *rig) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.p.WaitNotifications(ctx); err != nil {
		t.Fatal(err)
	}
	return r.notices.got()
}

func TestAddNotificationRefusesBadInput(t *testing.T) {
	r := newRig(t, 5)
	for _, tt := range []struct{ name, kind, target, events string }{
		{"ops", "webhook", "ftp://example.org/hook", ""},
		{"ops", "webhook", "javascript:alert(1)", ""},
		{"ops", "webhook", "file:///etc/passwd", ""},
		{"ops", "webhook", "http:///nohost", ""},
		{"ops", "webhook", "https://user:pw@example.org/", ""},
		{"ops", "webhook", "example.org/hook", ""},
		{"ops", "email", "not an address", ""},
		{"ops", "email", "Alice <alice@example.org>", ""},
		{"ops", "email", "a@example.org\r\nBcc: b@example.org", ""},
		{"ops", "sms", "+3212345678", ""},
		{"Ops!", "webhook", "https://example.org/", ""},
		{"", "webhook", "https://example.org/", ""},
		{"ops", "webhook", "https://example.org/", "deploy,reboot"},
	} {
		var events []string
		if tt.events != "" {
			events = strings.Split(tt.events, ",")
		}
		if _, err := r.p.AddNotification(tt.name, tt.kind, tt.target, events, "admin"); !errors.Is(err, nua.ErrInvalid) {
			t.Errorf("AddNotification(%q, %q, %q, %q) err=%v, want ErrInvalid", tt.name, tt.kind, tt.target, tt.events, err)
		}
	}
	if ns, err := r.p.Notifications(); err != nil || len(ns) != 0 {
		t.Fatalf("after bad input: %+v, %v; want none", ns, err)
	}
	n, err := r.p.AddNotification("ops", "webhook", "https://hooks.example.org/nua?x=1", nil, "admin")
	if err != nil || len(n.Secret) != 64 || !slices.Equal(n.Events, nua.NotifyEvents) {
		t.Fatalf("AddNotification: %+v, %v; want a 32-byte secret and every event", n, err)
	}
	if _, err := r.p.AddNotification("ops", "email", "ops@example.org", nil, "admin"); !errors.Is(err, nua.ErrExists) {
		t.Fatalf("a taken name: %v, want ErrExists", err)
	}
}

// TestNotifyDeploy tells the channels that want deploys of a deploy that
// succeeded and of one that failed, and no other channel.
func TestNotifyDeploy(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	for _, n := range []struct{ name, kind, target, events string }{
		{"ops", "webhook", "https://hooks.example.org/", "deploy"},
		{"pager", "email", "pager@example.org", "crash,disk"},
	} {
		if _, err := r.p.AddNotification(n.name, n.kind, n.target, strings.Split(n.events, ","), "admin"); err != nil {
			t.Fatal(err)
		}
	}
	r.mustDeploy(t, "shop", "c0ffee1")
	r.builder.build = func(nua.App, int) error { return errors.New("compile error") }
	if _, err := r.deploy(t, "shop", "bad0001", nil); err == nil {
		t.Fatal("a broken build deployed")
	}
	want := []string{ // sorted
		"ops deploy shop ok=false: shop: the deploy of bad0001 by tester failed, the previous release keeps serving: build: compile error",
		"ops deploy shop ok=true: shop: v1 deployed (c0ffee1) by tester",
	}
	got := waitNotices(t, r)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := r.deploy(t, "nosuchapp", "c0ffee1", nil); err == nil {
		t.Fatal("deployed an app that does not exist")
	}
	if got := waitNotices(t, r); len(got) != 2 {
		t.Fatalf("a push to no app was told: %q", got)
	}
}

// TestNotifyCrashLoop tells of the third crash within the window, once.
func TestNotifyCrashLoop(t *testing.T) {
	r := newRig(t, 5)
	if _, err := r.p.AddNotification("ops", "webhook", "https://hooks.example.org/", []string{"crash"}, "admin"); err != nil {
		t.Fatal(err)
	}
	r.p.ProcessCrashed("shop", "web.1", "exit status 1")
	r.p.ProcessCrashed("blog", "web.1", "exit status 1")
	r.p.ProcessCrashed("shop", "worker.1", "exit status 2")
	if got := waitNotices(t, r); len(got) != 0 {
		t.Fatalf("told after two crashes: %q", got)
	}
	r.p.ProcessCrashed("shop", "web.1", "signal: killed")
	r.p.ProcessCrashed("shop", "web.1", "signal: killed")
	got := waitNotices(t, r)
	if len(got) != 1 || !strings.HasPrefix(got[0], "ops crash shop ok=false: shop is crashing: 3 crashes in 5m0s, the last web.1 (signal: killed)") {
		t.Fatalf("notices %q, want one crash loop of shop", got)
	}
}

// TestNotifyDisk tells of a disk over 85% full once until it has room
// again.
func TestNotifyDisk(t *testing.T) {
	r := newRig(t, 5)
	if _, err := r.p.AddNotification("ops", "email", "ops@example.org", []string{"disk"}, "admin"); err != nil {
		t.Fatal(err)
	}
	const gib = 1 << 30
	for _, free := range []uint64{50, 14, 10, 30, 12} { // GiB free of 100
		r.p.CheckDiskUsage(free*gib, 100*gib)
	}
	got := waitNotices(t, r)
	slices.Sort(got) // delivered side by side
	if len(got) != 2 || !strings.Contains(got[0], "is 86% full: 14336 MiB free of 102400 MiB") || !strings.Contains(got[1], "is 88% full") {
		t.Fatalf("notices %q, want 86%% then, after room came back, 88%%", got)
	}
}

func TestTestNotification(t *testing.T) {
	r := newRig(t, 5)
	for _, name := range []string{"ops", "down"} {
		if _, err := r.p.AddNotification(name, "webhook", "https://hooks.example.org/", nil, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if err := r.p.TestNotification(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	if got := r.notices.got(); len(got) != 1 || !strings.HasPrefix(got[0], "ops test  ok=true: A test notification") {
		t.Fatalf("sent %q", got)
	}
	if err := r.p.TestNotification(ctx, "down"); err == nil || !strings.Contains(err.Error(), "notification down: connection refused") {
		t.Fatalf("a failing channel: %v", err)
	}
	if err := r.p.TestNotification(ctx, "nope"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("an unknown channel: %v, want ErrNotFound", err)
	}
	if err := r.p.RemoveNotification("ops"); err != nil {
		t.Fatal(err)
	}
	if err := r.p.RemoveNotification("ops"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("removed twice: %v", err)
	}
}

// FuzzAddNotification feeds notifications:add's arguments to the Platform:
// a channel it keeps has a known kind, an http(s) URL with a host or a
// bare address, no line breaks, known events; what it refuses is
// ErrInvalid and leaves nothing behind.
func FuzzAddNotification(f *testing.F) {
	for _, s := range [][4]string{
		{"ops", "webhook", "https://hooks.example.org/x?y=1", "deploy,crash"},
		{"ops", "email", "ops@example.org", ""},
		{"ops", "webhook", "javascript:alert(1)", ""},
		{"a", "email", "a@b\r\nBcc: c@d", "disk"},
		{"ops", "webhook", "http://[::1]:80/", "backup,cert"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	r := newRig(f, 5)
	f.Fuzz(func(t *testing.T, name, kind, target, events string) {
		var evs []string
		if events != "" {
			evs = strings.Split(events, ",")
		}
		n, err := r.p.AddNotification(name, kind, target, evs, "admin")
		if err != nil {
			if !errors.Is(err, nua.ErrInvalid) && !errors.Is(err, nua.ErrExists) {
				t.Fatalf("AddNotification(%q, %q, %q, %q): %v, want ErrInvalid", name, kind, target, events, err)
			}
			if ns, _ := r.p.Notifications(); len(ns) != 0 {
				t.Fatalf("a refused channel left %+v", ns)
			}
			return
		}
		defer r.p.RemoveNotification(n.Name)
		lower := strings.ToLower(target)
		ok := strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || kind == nua.NotifyEmail
		if !ok || strings.ContainsAny(target, "\r\n") || len(n.Events) == 0 {
			t.Fatalf("kept %+v", n)
		}
		for _, e := range n.Events {
			if !slices.Contains(nua.NotifyEvents, e) {
				t.Fatalf("kept an unknown event: %+v", n)
			}
		}
	})
}
