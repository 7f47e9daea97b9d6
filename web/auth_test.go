package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua"
)

var alice = nua.Identity{User: "alice", Door: nua.DoorWeb}

// TestLoginLinkOnce lets a link in once, within LinkTTL, and nothing else.
func TestLoginLinkOnce(t *testing.T) {
	a := newAuth()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	link, err := a.newLink(alice, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.redeem(link+"x", "", now); err == nil {
		t.Fatal("a wrong secret logged in")
	}
	cookie, sess, err := a.redeem(link, "test-agent", now.Add(LinkTTL-time.Second))
	if err != nil || sess.who.User != "alice" || cookie == "" || cookie == link {
		t.Fatalf("redeem: %v %+v", err, sess)
	}
	if _, _, err := a.redeem(link, "", now); err == nil {
		t.Fatal("a link logged in twice")
	}
	late, _ := a.newLink(alice, now)
	if _, _, err := a.redeem(late, "", now.Add(LinkTTL+time.Second)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired link: %v", err)
	}
	if got, ok := a.session(cookie, now.Add(time.Hour)); !ok || got != sess {
		t.Fatal("the session's cookie does not find it")
	}
	if _, ok := a.session(link, now); ok {
		t.Fatal("the link's secret works as a cookie")
	}
	if _, ok := a.session(cookie, now.Add(time.Hour+SessionTTL+time.Second)); ok {
		t.Fatal("a session unused for longer than SessionTTL lives on")
	}
}

// TestSessionsRevoke lists and revokes sessions: a user their own, an
// admin ("") anyone's.
func TestSessionsRevoke(t *testing.T) {
	a := newAuth()
	now := time.Now()
	cookies := map[string]string{}
	for _, u := range []string{"alice", "bob"} {
		link, _ := a.newLink(nua.Identity{User: u}, now)
		c, _, err := a.redeem(link, "", now)
		if err != nil {
			t.Fatal(err)
		}
		cookies[u] = c
	}
	if n := len(a.list("alice")); n != 1 {
		t.Fatalf("alice sees %d sessions", n)
	}
	bobs := a.list("bob")[0].ID
	if a.revoke(bobs, "alice") {
		t.Fatal("alice revoked bob's session")
	}
	if !a.revoke(bobs, "") {
		t.Fatal("an admin could not revoke bob's session")
	}
	if _, ok := a.session(cookies["bob"], now); ok {
		t.Fatal("a revoked session lets bob in")
	}
	if len(a.list("")) != 1 {
		t.Fatalf("sessions left: %+v", a.list(""))
	}
}

// TestCookieSecureOnHTTPS marks the cookie Secure over HTTPS only, so a
// local try over plain HTTP still logs in.
func TestCookieSecureOnHTTPS(t *testing.T) {
	for proto, want := range map[string]bool{"": false, "http": false, "https": true} {
		r := httptest.NewRequest("POST", "/login/x", nil)
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		w := httptest.NewRecorder()
		setCookie(w, r, "v", 60)
		c := w.Result().Cookies()[0]
		if c.Secure != want || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("X-Forwarded-Proto %q: cookie %+v, want Secure=%t, HttpOnly, SameSite=Strict", proto, c, want)
		}
	}
}

func TestCSRF(t *testing.T) {
	s := &session{csrf: "tok"}
	for body, want := range map[string]bool{"csrf=tok": true, "csrf=tok2": false, "": false, "csrf=": false} {
		r := httptest.NewRequest("POST", "/apps/x/restart", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if got := s.csrfOK(r); got != want {
			t.Errorf("form %q: csrfOK=%t, want %t", body, got, want)
		}
	}
}

// FuzzRedeem tries secrets as login links: only the one issued lets in,
// once.
func FuzzRedeem(f *testing.F) {
	f.Add("", "agent")
	f.Add("../../etc", "x")
	f.Add(url.PathEscape("a b"), "\x00")
	f.Fuzz(func(t *testing.T, s, agent string) {
		a := newAuth()
		now := time.Now()
		link, _ := a.newLink(alice, now)
		if _, _, err := a.redeem(s, agent, now); (err == nil) != (s == link) {
			t.Fatalf("redeem(%q) err=%v", s, err)
		}
		if _, ok := a.session(s, now); ok {
			t.Fatalf("secret %q works as a cookie", s)
		}
	})
}

// TestLineWriter splits what it is written into lines.
func TestLineWriter(t *testing.T) {
	var got []string
	w := &lineWriter{emit: func(s string) { got = append(got, s) }}
	for _, p := range []string{"a", "b\nc\n", "\n", "d"} {
		w.Write([]byte(p))
	}
	if strings.Join(got, "|") != "ab|c|" {
		t.Fatalf("lines %q", got)
	}
}
