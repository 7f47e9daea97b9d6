package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/commands"
)

// pageFunc is one dashboard page or form for the session's user.
type pageFunc func(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error

// page runs f for a logged-in browser: a form must carry the session's
// CSRF token. An error is rendered as a page with its status.
func (s *Server) page(f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		c, err := r.Cookie(cookieName)
		var sess *session
		if err == nil {
			sess, _ = s.auth.session(c.Value, start)
		}
		if sess == nil {
			s.render(w, r, http.StatusUnauthorized, "login", view{Title: "Log in", Error: "You are not logged in: run `ssh nua@HOST dashboard` and open the link it prints."})
			return
		}
		who := sess.who
		if !who.System {
			if who, err = s.p.IdentifyUser(who.User, nua.DoorWeb); err != nil {
				s.auth.end(c.Value)
				s.render(w, r, http.StatusUnauthorized, "login", view{Title: "Log in", Error: commands.Message(err)})
				return
			}
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			if !sess.csrfOK(r) {
				s.log.Warn("form refused: no valid CSRF token", "user", who.User, "path", r.URL.Path)
				s.render(w, r, http.StatusForbidden, "error", view{Title: "Refused", Session: sess, Who: who, Error: "This form did not come from your dashboard page (its CSRF token is missing or wrong): reload the page and try again."})
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), startKey{}, start))
		if err := f(w, r, sess, who); err != nil {
			s.render(w, r, status(err), "error", view{Title: "Error", Session: sess, Who: who, Error: commands.Message(err)})
		}
	}
}

// view is what every template gets.
type view struct {
	Title   string
	Session *session
	Who     nua.Identity
	Error   string
	Notice  string
	Data    any
}

// CSRF is the session's form token.
func (v view) CSRF() string {
	if v.Session == nil {
		return ""
	}
	return v.Session.csrf
}

// memory is a byte count as the pages show it.
func memory(n int64) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

var funcs = template.FuncMap{
	"mem": memory,
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		d := time.Since(t).Round(time.Second)
		switch {
		case d < time.Minute:
			return d.String()
		case d < time.Hour:
			return d.Round(time.Minute).String()
		case d < 48*time.Hour:
			return d.Round(time.Hour).String()
		}
		return t.Format("2006-01-02")
	},
	"short": func(s string) string {
		if len(s) > 7 {
			return s[:7]
		}
		return s
	},
}

// startKey keys when the request's handling started.
type startKey struct{}

// render renders template name with v; the time since the request's
// handling started (gathering the page's data and rendering it) goes out
// as a Server-Timing header.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, v view) {
	start, ok := r.Context().Value(startKey{}).(time.Time)
	if !ok {
		start = time.Now()
	}
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, v); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "the page failed to render", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Server-Timing", fmt.Sprintf("render;dur=%.3f", float64(time.Since(start).Microseconds())/1000))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// loginPage shows the button that redeems a login link: a GET never logs
// in, so a link preview cannot use the link up.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", view{Title: "Log in", Data: r.PathValue("secret")})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	cookie, sess, err := s.auth.redeem(r.PathValue("secret"), r.UserAgent(), s.now())
	if err != nil {
		s.render(w, r, http.StatusUnauthorized, "login", view{Title: "Log in", Error: err.Error()})
		return
	}
	setCookie(w, r, cookie, int(SessionTTL.Seconds()))
	s.log.Info("dashboard login", "user", sess.who.User, "session", sess.ID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	if c, err := r.Cookie(cookieName); err == nil {
		s.auth.end(c.Value)
	}
	setCookie(w, r, "", -1)
	s.render(w, r, http.StatusOK, "login", view{Title: "Logged out", Notice: "You are logged out."})
	return nil
}

func (s *Server) appsPage(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	if err := commands.Allow(s.p, who, "apps"); err != nil {
		return err
	}
	apps, err := s.p.AppsFor(who)
	if err != nil {
		return err
	}
	infos := make([]AppInfo, 0, len(apps))
	for _, a := range apps {
		infos = append(infos, s.appInfo(a))
	}
	s.render(w, r, http.StatusOK, "apps", view{Title: "Apps", Session: sess, Who: who, Data: infos})
	return nil
}

// appView is the app page's data.
type appView struct {
	App       AppInfo
	Procs     []nua.ProcessStatus
	Releases  []ReleaseInfo
	Config    []configVar
	Reveal    bool
	CanReveal bool
	Types     []string
	Certs     []nua.CertStatus // one per host: APP.DOMAIN and the custom domains
	Addons    []addonRow
	// Backups are the app's backups, newest first; HasBackups says the
	// server keeps backups and the caller may see them.
	Backups    []nua.Backup
	HasBackups bool
}

// addonRow is an addon as the app's page shows it: never its URL.
type addonRow struct {
	Name, Kind, Var, Owner string
	Shared                 int // other apps it is attached to
}

type configVar struct{ Name, Value string }

// notices are the results a form redirects back with (?done=...).
var notices = map[string]string{
	"capture":  "Backed up: the new backup is at the top of the list.",
	"restored": "Restored: the backup's data and config serve now.",
	"rollback": "Rolled back: the release below serves now.",
	"restart":  "Restarted.",
	"scale":    "Scaled.",
}

func (s *Server) appPage(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	name := r.PathValue("app")
	if err := commands.Allow(s.p, who, "apps:info", name); err != nil {
		return err
	}
	a, err := s.p.App(name)
	if err != nil {
		return err
	}
	v := appView{App: s.appInfo(a), CanReveal: commands.Allow(s.p, who, "config:get", name) == nil}
	v.Reveal = v.CanReveal && r.URL.Query().Get("reveal") == "1"
	if v.Procs, err = s.p.Ps(name); err != nil {
		return err
	}
	if v.Releases, err = s.releases(name); err != nil {
		return err
	}
	for k, val := range a.Config {
		if !v.Reveal {
			val = "••••••"
		}
		v.Config = append(v.Config, configVar{k, val})
	}
	slices.SortFunc(v.Config, func(x, y configVar) int { return strings.Compare(x.Name, y.Name) })
	for _, rel := range v.Releases {
		if rel.Current {
			for typ := range rel.Processes {
				if typ != "release" {
					v.Types = append(v.Types, typ)
				}
			}
		}
	}
	slices.Sort(v.Types)
	if commands.Allow(s.p, who, "certs", name) == nil {
		v.Certs, _ = s.p.Certs(name)
	}
	if commands.Allow(s.p, who, "addons", name) == nil {
		addons, _ := s.p.Addons(name)
		for _, a := range addons {
			row := addonRow{Name: a.Name, Kind: a.Kind, Owner: a.App, Shared: len(a.Attachments) - 1}
			for _, at := range a.Attachments {
				if at.App == name {
					row.Var = at.Var()
				}
			}
			v.Addons = append(v.Addons, row)
		}
	}
	if s.cfg.Backups != nil && commands.Allow(s.p, who, "backups", name) == nil {
		v.HasBackups = true
		bs, _ := s.cfg.Backups.Backups(name)
		slices.Reverse(bs)
		v.Backups = bs
	}
	s.render(w, r, http.StatusOK, "app", view{Title: name, Session: sess, Who: who, Notice: notices[r.URL.Query().Get("done")], Data: v})
	return nil
}

// back redirects to the app's page with the result of a form.
func back(w http.ResponseWriter, r *http.Request, app, done string) {
	http.Redirect(w, r, "/apps/"+url.PathEscape(app)+"?done="+done, http.StatusSeeOther)
}

func (s *Server) rollbackForm(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	app := r.PathValue("app")
	if err := commands.Allow(s.p, who, "rollback", app); err != nil {
		return err
	}
	v, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil || v < 1 {
		return fmt.Errorf("%w: version %q: pick a release from the list", nua.ErrInvalid, r.PostFormValue("version"))
	}
	if _, err := s.rollback(r.Context(), who, app, v); err != nil {
		return err
	}
	back(w, r, app, "rollback")
	return nil
}

func (s *Server) restartForm(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	app := r.PathValue("app")
	if err := commands.Allow(s.p, who, "restart", app); err != nil {
		return err
	}
	if err := s.restart(r.Context(), who, app, r.PostFormValue("type")); err != nil {
		return err
	}
	back(w, r, app, "restart")
	return nil
}

func (s *Server) scaleForm(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	app := r.PathValue("app")
	if err := commands.Allow(s.p, who, "ps:scale", app); err != nil {
		return err
	}
	if _, err := s.scale(r.Context(), who, app, []string{r.PostFormValue("type") + "=" + r.PostFormValue("count")}); err != nil {
		return err
	}
	back(w, r, app, "scale")
	return nil
}

func (s *Server) sessionsPage(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	user := who.User
	if who.Admin {
		user = ""
	}
	s.render(w, r, http.StatusOK, "sessions", view{Title: "Sessions", Session: sess, Who: who, Data: s.auth.list(user)})
	return nil
}

func (s *Server) revokeForm(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	user := who.User
	if who.Admin {
		user = ""
	}
	if !s.auth.revoke(r.PathValue("id"), user) {
		return fmt.Errorf("session %s: %w", r.PathValue("id"), nua.ErrNotFound)
	}
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
	return nil
}

// adminView is the admin page's data.
type adminView struct {
	Users  []nua.User
	Keys   map[string]int
	Access map[string]nua.Access
}

func (s *Server) adminPage(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	if err := commands.Allow(s.p, who, "users"); err != nil {
		return err
	}
	users, err := s.p.Users()
	if err != nil {
		return err
	}
	v := adminView{Users: users, Keys: map[string]int{}, Access: map[string]nua.Access{}}
	for _, u := range users {
		keys, err := s.p.Keys(u.Name)
		if err != nil && !errors.Is(err, nua.ErrNotFound) {
			return err
		}
		v.Keys[u.Name] = len(keys)
	}
	apps, err := s.p.Apps()
	if err != nil {
		return err
	}
	for _, a := range apps {
		if acc, err := s.p.Access(a.Name); err == nil {
			v.Access[a.Name] = acc
		}
	}
	s.render(w, r, http.StatusOK, "admin", view{Title: "Admin", Session: sess, Who: who, Data: v})
	return nil
}

func (s *Server) captureForm(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	app := r.PathValue("app")
	if err := commands.Allow(s.p, who, "backups:capture", app); err != nil {
		return err
	}
	if s.cfg.Backups == nil {
		return fmt.Errorf("%w: this server keeps no backups", nua.ErrNotFound)
	}
	b, err := s.cfg.Backups.Capture(r.Context(), app, who.User)
	commands.Audit(s.p, who, "backups:capture", app, b.ID, err)
	if err != nil {
		return err
	}
	back(w, r, app, "capture")
	return nil
}

func (s *Server) restoreForm(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	app, id := r.PathValue("app"), r.PathValue("id")
	if err := commands.Allow(s.p, who, "backups:restore", app); err != nil {
		return err
	}
	if s.cfg.Backups == nil {
		return fmt.Errorf("%w: this server keeps no backups", nua.ErrNotFound)
	}
	err := s.cfg.Backups.Restore(r.Context(), app, id, who.User, io.Discard)
	commands.Audit(s.p, who, "backups:restore", app, id, err)
	if err != nil {
		return err
	}
	back(w, r, app, "restored")
	return nil
}
