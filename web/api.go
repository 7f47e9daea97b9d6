package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/commands"
)

// apiFunc is one API operation for who; it returns the JSON answer.
type apiFunc func(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error)

// maxBody bounds a request's JSON body.
const maxBody = 1 << 20

// api authenticates the bearer of an API token and runs f, answering its
// result or its error as JSON.
func (s *Server) api(f apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, err := s.bearer(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nua"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": commands.Message(err)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		v, err := f(w, r, who)
		switch {
		case err != nil:
			writeError(w, err)
		case v != nil:
			writeJSON(w, http.StatusOK, v)
		}
	}
}

// bearer returns who the request's API token belongs to.
func (s *Server) bearer(r *http.Request) (nua.Identity, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nua.Identity{}, fmt.Errorf("%w: send an API token as Authorization: Bearer TOKEN (make one with `tokens:create`)", nua.ErrForbidden)
	}
	user, err := s.p.TokenUser(strings.TrimSpace(tok))
	if err != nil {
		return nua.Identity{}, err
	}
	return s.p.IdentifyUser(user, nua.DoorWeb)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, status(err), map[string]string{"error": commands.Message(err)})
}

// decode reads the request's JSON body into v.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && err != io.EOF {
		return fmt.Errorf("%w: the request body is not the JSON this operation takes: %v", nua.ErrInvalid, err)
	}
	return nil
}

// allowed checks who may run command name on the request's app and returns
// the app's name.
func (s *Server) allowed(r *http.Request, who nua.Identity, name string) (string, error) {
	app := r.PathValue("app")
	return app, commands.Allow(s.p, who, name, app)
}

// AppInfo is an app as the API and the dashboard show it.
type AppInfo struct {
	Name      string         `json:"name"`
	URL       string         `json:"url"`
	Release   int            `json:"release"`
	Owner     string         `json:"owner,omitempty"`
	Created   time.Time      `json:"created"`
	Stopped   bool           `json:"stopped,omitempty"`
	Formation map[string]int `json:"formation,omitempty"`
	Up        int            `json:"up"`
	Processes int            `json:"processes"`
	Memory    int64          `json:"memory"`
}

func (s *Server) appInfo(a nua.App) AppInfo {
	info := AppInfo{Name: a.Name, URL: s.p.URL(a.Name), Release: a.Release, Created: a.Created, Stopped: a.Stopped, Formation: a.Formation}
	if acc, err := s.p.Access(a.Name); err == nil {
		info.Owner = acc.Owner
	}
	st, _ := s.p.Ps(a.Name)
	for _, p := range st {
		info.Processes++
		info.Memory += p.Memory
		if p.State == "up" {
			info.Up++
		}
	}
	return info
}

func (s *Server) apiApps(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	if err := commands.Allow(s.p, who, "apps"); err != nil {
		return nil, err
	}
	apps, err := s.p.AppsFor(who)
	if err != nil {
		return nil, err
	}
	out := make([]AppInfo, 0, len(apps))
	for _, a := range apps {
		out = append(out, s.appInfo(a))
	}
	return out, nil
}

func (s *Server) apiApp(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	app, err := s.allowed(r, who, "apps:info")
	if err != nil {
		return nil, err
	}
	a, err := s.p.App(app)
	if err != nil {
		return nil, err
	}
	return s.appInfo(a), nil
}

// ReleaseInfo is a release without its config values.
type ReleaseInfo struct {
	Version     int               `json:"version"`
	Slug        int               `json:"slug"`
	Commit      string            `json:"commit,omitempty"`
	Buildpack   string            `json:"buildpack,omitempty"`
	Processes   map[string]string `json:"processes"`
	Description string            `json:"description"`
	Status      string            `json:"status,omitempty"`
	By          string            `json:"by,omitempty"`
	Created     time.Time         `json:"created"`
	Current     bool              `json:"current"`
}

// releases returns the app's releases, newest first.
func (s *Server) releases(app string) ([]ReleaseInfo, error) {
	a, err := s.p.App(app)
	if err != nil {
		return nil, err
	}
	rels, err := s.p.Releases(app)
	if err != nil {
		return nil, err
	}
	out := make([]ReleaseInfo, 0, len(rels))
	for i := len(rels) - 1; i >= 0; i-- {
		rel := rels[i]
		out = append(out, ReleaseInfo{
			Version: rel.Version, Slug: rel.Slug, Commit: rel.Commit, Buildpack: rel.Buildpack, Processes: rel.Processes,
			Description: rel.Description, Status: rel.Status, By: rel.By, Created: rel.Created, Current: rel.Version == a.Release,
		})
	}
	return out, nil
}

func (s *Server) apiReleases(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	app, err := s.allowed(r, who, "releases")
	if err != nil {
		return nil, err
	}
	return s.releases(app)
}

// rollback rolls app back to version (0: the one before the current) for
// who, audited as the command is.
func (s *Server) rollback(ctx context.Context, who nua.Identity, app string, version int) (string, error) {
	var out strings.Builder
	err := s.p.Rollback(ctx, app, version, who.User, &out)
	commands.Audit(s.p, who, "rollback", app, "v"+strconv.Itoa(version), err)
	return out.String(), err
}

func (s *Server) apiRollback(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	app, err := s.allowed(r, who, "rollback")
	if err != nil {
		return nil, err
	}
	var req struct {
		Version int `json:"version"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	out, err := s.rollback(r.Context(), who, app, req.Version)
	if err != nil {
		return nil, err
	}
	return map[string]string{"output": out}, nil
}

func (s *Server) apiPs(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	app, err := s.allowed(r, who, "ps")
	if err != nil {
		return nil, err
	}
	st, err := s.p.Ps(app)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(st))
	for _, p := range st {
		out = append(out, map[string]any{
			"name": p.Name, "state": p.State, "pid": p.PID, "port": p.Port, "restarts": p.Restarts,
			"since": p.Since, "memory": p.Memory, "cpu_seconds": p.CPU.Seconds(), "release": p.Release, "oom_kills": p.OOMKills,
		})
	}
	return out, nil
}

// restart restarts app's processes of typ ("" for all) for who.
func (s *Server) restart(ctx context.Context, who nua.Identity, app, typ string) error {
	err := s.p.Restart(ctx, app, typ)
	commands.Audit(s.p, who, "restart", app, typ, err)
	return err
}

func (s *Server) apiRestart(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	app, err := s.allowed(r, who, "restart")
	if err != nil {
		return nil, err
	}
	var req struct {
		Type string `json:"type"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := s.restart(r.Context(), who, app, req.Type); err != nil {
		return nil, err
	}
	return map[string]string{"status": "restarted"}, nil
}

// scale sets app's formation from TYPE=N args for who.
func (s *Server) scale(ctx context.Context, who nua.Identity, app string, args []string) (string, error) {
	counts, err := nua.ParseScale(args, nua.DefaultMaxScale)
	if err == nil {
		var out strings.Builder
		err = s.p.Scale(ctx, app, counts, &out)
		commands.Audit(s.p, who, "ps:scale", app, strings.Join(args, " "), err)
		return out.String(), err
	}
	return "", err
}

func (s *Server) apiScale(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	app, err := s.allowed(r, who, "ps:scale")
	if err != nil {
		return nil, err
	}
	var req map[string]int
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	var args []string
	for typ, n := range req {
		args = append(args, typ+"="+strconv.Itoa(n))
	}
	out, err := s.scale(r.Context(), who, app, args)
	if err != nil {
		return nil, err
	}
	return map[string]string{"output": out}, nil
}

func (s *Server) apiConfig(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	name := "config"
	reveal := r.URL.Query().Get("reveal") == "true"
	if reveal {
		name = "config:get"
	}
	app, err := s.allowed(r, who, name)
	if err != nil {
		return nil, err
	}
	a, err := s.p.App(app)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range a.Config {
		if !reveal {
			v = ""
		}
		out[k] = v
	}
	return out, nil
}

func (s *Server) apiSetConfig(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	var req struct {
		Set   map[string]string `json:"set"`
		Unset []string          `json:"unset"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if len(req.Set) == 0 && len(req.Unset) == 0 {
		return nil, fmt.Errorf("%w: give {\"set\": {\"NAME\": \"value\"}} or {\"unset\": [\"NAME\"]}", nua.ErrInvalid)
	}
	name := "config:set"
	if len(req.Set) == 0 {
		name = "config:unset"
	}
	app, err := s.allowed(r, who, name)
	if err != nil {
		return nil, err
	}
	var args []string
	for k, v := range req.Set {
		args = append(args, k+"="+v)
	}
	set, err := nua.ParseConfigVars(args)
	if err != nil {
		return nil, err
	}
	var out strings.Builder
	err = s.p.SetConfig(r.Context(), app, set, req.Unset, who.User, &out)
	names := make([]string, 0, len(set)+len(req.Unset))
	for k := range set {
		names = append(names, k)
	}
	commands.Audit(s.p, who, name, app, strings.Join(append(names, req.Unset...), " "), err)
	if err != nil {
		return nil, err
	}
	return map[string]string{"output": out.String()}, nil
}

func (s *Server) apiLogs(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	app, err := s.allowed(r, who, "logs")
	if err != nil {
		return nil, err
	}
	lines := 100
	if v := r.URL.Query().Get("lines"); v != "" {
		if lines, err = strconv.Atoi(v); err != nil || lines < 0 || lines > 10000 {
			return nil, fmt.Errorf("%w: lines=%q: give 0 to 10000", nua.ErrInvalid, v)
		}
	}
	opt := nua.LogOptions{Lines: lines, Follow: r.URL.Query().Get("follow") == "true", Type: r.URL.Query().Get("type")}
	if opt.Follow {
		return nil, s.stream(w, r, app, opt)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	return nil, s.p.Logs(r.Context(), app, opt, w)
}

// maxOutput bounds what a command run through the API may print.
const maxOutput = 8 << 20

// apiRun runs any command line of the command tree for who, as the SSH
// door would: the guard checks the command's rule and records the change,
// so the API reaches every operation with the one rule each has. A
// terminal is never given; stdin comes from the request.
func (s *Server) apiRun(w http.ResponseWriter, r *http.Request, who nua.Identity) (any, error) {
	var req struct {
		Args  []string `json:"args"`
		Stdin string   `json:"stdin"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if len(req.Args) == 0 {
		return nil, fmt.Errorf("%w: give the command line as {\"args\": [\"apps:info\", \"APP\"]}", nua.ErrInvalid)
	}
	var out, errb capped
	o := commands.Options{Door: commands.Web, Platform: s.p, Who: who, Stdin: strings.NewReader(req.Stdin), Stdout: &out, Stderr: &errb, Dashboard: s, Backups: s.cfg.Backups}
	code := commands.Run(r.Context(), o, req.Args)
	return map[string]any{"exit": code, "stdout": out.String(), "stderr": errb.String()}, nil
}

// capped keeps the first maxOutput bytes written to it.
type capped struct{ strings.Builder }

func (c *capped) Write(p []byte) (int, error) {
	if room := maxOutput - c.Len(); room > 0 {
		c.Builder.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
