package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// SetRoute writes r's dynamic file atomically. Unless External, it returns
// once Traefik's API shows r's routers with their rules and the service
// with exactly r's servers. A bad r is refused and nothing is written.
func (t *Traefik) SetRoute(ctx context.Context, r Route) error {
	if _, err := t.render(r); err != nil {
		return err
	}
	if err := t.checkOpen(); err != nil {
		return fmt.Errorf("set route %s: %w", r.App, err)
	}
	unlock := t.lock(r.App)
	defer unlock()
	data, err := t.render(r) // under the lock: certificates may have come
	if err != nil {
		return err
	}
	if err := writeFileAtomic(t.routeFile(r.App), data); err != nil {
		return fmt.Errorf("write route %s: %w", r.App, err)
	}
	t.remember(r, data)
	if t.cfg.External {
		return nil
	}
	ctx, cancel := t.withTimeout(ctx)
	defer cancel()
	return t.waitServed(ctx, r, data)
}

// RemoveRoute deletes app's dynamic file. Unless External, it returns once
// Traefik's API no longer shows the app's router.
func (t *Traefik) RemoveRoute(ctx context.Context, app string) error {
	if err := validateApp(app); err != nil {
		return err
	}
	if err := t.checkOpen(); err != nil {
		return fmt.Errorf("remove route %s: %w", app, err)
	}
	unlock := t.lock(app)
	defer unlock()
	if err := removeFile(t.routeFile(app)); err != nil {
		return fmt.Errorf("remove route %s: %w", app, err)
	}
	t.forget(app)
	if t.cfg.External {
		return nil
	}
	ctx, cancel := t.withTimeout(ctx)
	defer cancel()
	return t.waitGone(ctx, app)
}

// checkOpen refuses route changes before Open and after Close, unless
// External: there would be no Traefik to confirm them.
func (t *Traefik) checkOpen() error {
	if t.cfg.External {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closing:
		return ErrClosed
	case t.cancel == nil:
		return ErrNotOpen
	}
	return nil
}

func (t *Traefik) lock(app string) (unlock func()) {
	m, _ := t.locks.LoadOrStore(app, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// What nua reads of the API's answers.
type (
	routerInfo struct {
		Rule   string   `json:"rule"`
		Status string   `json:"status"`
		Error  []string `json:"error"`
	}
	serviceInfo struct {
		LoadBalancer *loadBalancer `json:"loadBalancer"`
		Status       string        `json:"status"`
		Error        []string      `json:"error"`
	}
)

// waitServed polls the API until it shows r live as data configures it:
// each of its routers with its rule, none of the others a route may have,
// and its service with exactly r's servers.
func (t *Traefik) waitServed(ctx context.Context, r Route, data []byte) error {
	want := slices.Sorted(slices.Values(r.Servers))
	var cfg dynamicConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("read back route %s: %w", r.App, err)
	}
	seen := "nothing yet"
	err := poll(ctx, func() (bool, error) {
		for _, name := range routerNames(r.App) {
			var rt routerInfo
			found, err := t.getJSON(ctx, "routers", name, &rt)
			if err != nil {
				seen = fmt.Sprintf("router %s: %v", name, err)
				return false, nil
			}
			wanted, ok := cfg.HTTP.Routers[name]
			switch {
			case !ok && found:
				seen = fmt.Sprintf("router %s still there", name)
				return false, nil
			case !ok:
				continue
			case !found:
				seen = fmt.Sprintf("router %s: not found", name)
				return false, nil
			case rt.Rule != wanted.Rule:
				seen = fmt.Sprintf("router %s rule %q", name, rt.Rule)
				return false, nil
			case rt.Status == "disabled":
				return false, fmt.Errorf("traefik refused route %s: router %s %s: %s", r.App, name, rt.Status, strings.Join(rt.Error, "; "))
			}
		}
		var svc serviceInfo
		if found, err := t.getJSON(ctx, "services", r.App, &svc); err != nil || !found {
			seen = fmt.Sprintf("service: %v", orNotFound(err))
			return false, nil
		}
		got := svc.servers()
		if !slices.Equal(got, want) {
			seen = fmt.Sprintf("servers %v", got)
			return false, nil
		}
		if svc.Status == "disabled" {
			return false, fmt.Errorf("traefik refused route %s: service %s: %s", r.App, svc.Status, strings.Join(svc.Error, "; "))
		}
		return true, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("wait for traefik to serve %s on %v: %w (it shows %s; see %s)", r.App, r.Servers, err, seen, t.cfg.LogFile)
	}
	return err
}

// waitGone polls the API until it no longer shows app's router.
func (t *Traefik) waitGone(ctx context.Context, app string) error {
	var last error
	err := poll(ctx, func() (bool, error) {
		var rt routerInfo
		found, err := t.getJSON(ctx, "routers", app, &rt)
		last = err
		return err == nil && !found, nil
	})
	if err != nil {
		return fmt.Errorf("wait for traefik to drop %s: %w (last: %v)", app, err, orFound(last))
	}
	return nil
}

func orNotFound(err error) error {
	if err == nil {
		return fmt.Errorf("not found")
	}
	return err
}

func orFound(err error) error {
	if err == nil {
		return fmt.Errorf("still there")
	}
	return err
}

func (s serviceInfo) servers() []string {
	if s.LoadBalancer == nil {
		return nil
	}
	urls := make([]string, len(s.LoadBalancer.Servers))
	for i, srv := range s.LoadBalancer.Servers {
		urls[i] = srv.URL
	}
	slices.Sort(urls)
	return urls
}

// getJSON reads /api/http/KIND/APP@file into v; found is false on 404.
func (t *Traefik) getJSON(ctx context.Context, kind, app string, v any) (found bool, err error) {
	url := "http://" + t.APIAddr() + "/api/http/" + kind + "/" + app + "@file"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return false, fmt.Errorf("decode %s: %w", url, err)
		}
		return true, nil
	case http.StatusNotFound:
		io.Copy(io.Discard, resp.Body)
		return false, nil
	default:
		io.Copy(io.Discard, resp.Body)
		return false, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
}
