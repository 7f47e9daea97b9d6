// Package web is nua's HTTP door: a JSON API for programs, authenticated by
// API tokens, and a dashboard for people, server-rendered from templates
// embedded in the binary, logged in to with one-time links minted over SSH.
// Every operation is authorised by the rule of the command it mirrors
// (commands.Allow) and changes are audited like the command tree's.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/commands"
)

//go:embed templates/*.html assets/*
var files embed.FS

// Config wires the web door.
type Config struct {
	Platform *nua.Platform
	// URL is where browsers reach the dashboard, e.g.
	// http://nua.example.org; login links start with it.
	URL    string
	Logger *slog.Logger
	// Backups serves the backup commands of POST /api/v1/run; nil: none.
	Backups commands.Backups
}

// Server serves the API and the dashboard.
type Server struct {
	cfg   Config
	p     *nua.Platform
	log   *slog.Logger
	auth  *auth
	pages *template.Template
	mux   *http.ServeMux
	now   func() time.Time
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, p: cfg.Platform, log: cfg.Logger, auth: newAuth(), now: time.Now,
		pages: template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/*.html")),
		mux:   http.NewServeMux(),
	}
	s.routes()
	return s
}

// LoginLink implements commands.Dashboard.
func (s *Server) LoginLink(who nua.Identity) (string, error) {
	secret, err := s.auth.newLink(who, s.now())
	if err != nil {
		return "", err
	}
	s.log.Info("login link made", "user", who.User)
	return strings.TrimSuffix(s.cfg.URL, "/") + "/login/" + secret, nil
}

var _ commands.Dashboard = (*Server)(nil)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	s.mux.ServeHTTP(w, r)
}

// Serve serves on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("dashboard: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}

func (s *Server) routes() {
	assets, _ := fs.Sub(files, "assets")
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", cacheFor(http.FileServerFS(assets))))

	s.mux.HandleFunc("GET /login/{secret}", s.loginPage)
	s.mux.HandleFunc("POST /login/{secret}", s.login)
	s.mux.HandleFunc("POST /logout", s.page(s.logout))
	s.mux.HandleFunc("GET /{$}", s.page(s.appsPage))
	s.mux.HandleFunc("GET /apps/{app}", s.page(s.appPage))
	s.mux.HandleFunc("GET /apps/{app}/live", s.page(s.live))
	s.mux.HandleFunc("POST /apps/{app}/rollback", s.page(s.rollbackForm))
	s.mux.HandleFunc("POST /apps/{app}/restart", s.page(s.restartForm))
	s.mux.HandleFunc("POST /apps/{app}/scale", s.page(s.scaleForm))
	s.mux.HandleFunc("POST /apps/{app}/backups", s.page(s.captureForm))
	s.mux.HandleFunc("POST /apps/{app}/backups/{id}/restore", s.page(s.restoreForm))
	s.mux.HandleFunc("GET /sessions", s.page(s.sessionsPage))
	s.mux.HandleFunc("POST /sessions/{id}/revoke", s.page(s.revokeForm))
	s.mux.HandleFunc("GET /admin", s.page(s.adminPage))

	s.mux.HandleFunc("GET /api/v1/apps", s.api(s.apiApps))
	s.mux.HandleFunc("GET /api/v1/apps/{app}", s.api(s.apiApp))
	s.mux.HandleFunc("GET /api/v1/apps/{app}/releases", s.api(s.apiReleases))
	s.mux.HandleFunc("POST /api/v1/apps/{app}/rollback", s.api(s.apiRollback))
	s.mux.HandleFunc("GET /api/v1/apps/{app}/ps", s.api(s.apiPs))
	s.mux.HandleFunc("POST /api/v1/apps/{app}/restart", s.api(s.apiRestart))
	s.mux.HandleFunc("POST /api/v1/apps/{app}/scale", s.api(s.apiScale))
	s.mux.HandleFunc("GET /api/v1/apps/{app}/config", s.api(s.apiConfig))
	s.mux.HandleFunc("PATCH /api/v1/apps/{app}/config", s.api(s.apiSetConfig))
	s.mux.HandleFunc("GET /api/v1/apps/{app}/logs", s.api(s.apiLogs))
	s.mux.HandleFunc("POST /api/v1/run", s.api(s.apiRun))
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%w: no such API operation: %s %s", nua.ErrNotFound, r.Method, r.URL.Path))
	})
}

// cacheFor lets browsers keep the embedded assets for a day.
func cacheFor(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}

// status maps an error of the Platform to an HTTP status.
func status(err error) int {
	switch {
	case errors.Is(err, nua.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, nua.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, nua.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, nua.ErrExists):
		return http.StatusConflict
	case errors.Is(err, nua.ErrDeploy):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}
