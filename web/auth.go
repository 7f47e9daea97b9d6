package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua"
)

// Lifetimes of what lets a browser in.
const (
	// LinkTTL is how long a login link works (once).
	LinkTTL = 5 * time.Minute
	// SessionTTL is how long a session lasts without use.
	SessionTTL = 7 * 24 * time.Hour
	// maxLinks and maxSessions bound what the daemon keeps in memory.
	maxLinks    = 1000
	maxSessions = 10000
)

const cookieName = "nua_session"

// session is a browser logged in to the dashboard.
type session struct {
	ID      string // shown in the sessions list: a digest of the secret's digest
	who     nua.Identity
	csrf    string
	Created time.Time
	Seen    time.Time
	Agent   string
}

// User is the session's user, for templates.
func (s *session) User() string { return s.who.User }

// auth keeps the login links and the sessions, in memory: a daemon
// restart logs everyone out, and `ssh nua@host dashboard` logs in again.
type auth struct {
	mu       sync.Mutex
	links    map[string]link     // by digest of the link's secret
	sessions map[string]*session // by digest of the cookie's secret
}

type link struct {
	who     nua.Identity
	expires time.Time
}

func newAuth() *auth {
	return &auth{links: map[string]link{}, sessions: map[string]*session{}}
}

// secret returns a new random secret, URL- and cookie-safe.
func secret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// newLink makes a login link's secret for who.
func (a *auth) newLink(who nua.Identity, now time.Time) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, l := range a.links {
		if now.After(l.expires) {
			delete(a.links, k)
		}
	}
	if len(a.links) >= maxLinks {
		return "", errors.New("too many login links are waiting: try again in a few minutes")
	}
	s := secret()
	a.links[digest(s)] = link{who: who, expires: now.Add(LinkTTL)}
	return s, nil
}

// redeem uses up the link secret s and starts a session; it returns the
// session's cookie secret.
func (a *auth) redeem(s, agent string, now time.Time) (string, *session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	d := digest(s)
	l, ok := a.links[d]
	delete(a.links, d)
	if !ok || now.After(l.expires) {
		return "", nil, errors.New("this login link is unknown, used or expired: run `ssh nua@HOST dashboard` for a new one")
	}
	if len(a.sessions) >= maxSessions {
		a.expire(now)
	}
	c := secret()
	cd := digest(c)
	sess := &session{ID: digest(cd)[:12], who: l.who, csrf: secret(), Created: now, Seen: now, Agent: agent}
	a.sessions[cd] = sess
	return c, sess, nil
}

// expire drops sessions unused for SessionTTL. a.mu is held.
func (a *auth) expire(now time.Time) {
	for k, s := range a.sessions {
		if now.Sub(s.Seen) > SessionTTL {
			delete(a.sessions, k)
		}
	}
}

// session returns the live session of cookie secret c.
func (a *auth) session(c string, now time.Time) (*session, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[digest(c)]
	if !ok || now.Sub(s.Seen) > SessionTTL {
		return nil, false
	}
	s.Seen = now
	return s, true
}

// list returns the sessions of user, all of them for "" (an admin's view),
// newest first.
func (a *auth) list(user string) []session {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []session
	for _, s := range a.sessions {
		if user == "" || s.who.User == user {
			out = append(out, *s)
		}
	}
	slices.SortFunc(out, func(x, y session) int { return y.Created.Compare(x.Created) })
	return out
}

// revoke ends session id if it belongs to user ("" for any).
func (a *auth) revoke(id, user string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, s := range a.sessions {
		if s.ID == id && (user == "" || s.who.User == user) {
			delete(a.sessions, k)
			return true
		}
	}
	return false
}

// end ends the session of cookie secret c.
func (a *auth) end(c string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, digest(c))
}

// csrfOK reports whether the form's token is the session's.
func (s *session) csrfOK(r *http.Request) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) == 1
}

// secure reports whether the browser reached the dashboard over HTTPS:
// directly, or through Traefik, which sets X-Forwarded-Proto (the daemon
// listens on loopback, where only Traefik reaches it).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// setCookie sets the session cookie: HttpOnly, SameSite=Strict, Secure
// whenever the dashboard is served over HTTPS (over plain HTTP, a local try
// on loopback, a Secure cookie would never come back).
func setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	})
}
