package runtime

import (
	"context"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/proxy"
)

// certStater is an optional interface of a Router: it tells the state of
// hosts' ACME certificates. *proxy.Traefik implements it.
type certStater interface {
	CertStates(hosts []string) (map[string]proxy.CertState, bool)
}

var (
	_ certStater       = (*proxy.Traefik)(nil)
	_ nua.Rerouter     = (*Runtime)(nil)
	_ nua.CertReporter = (*Runtime)(nil)
)

// routeOf is the route of app without its servers: APP.DOMAIN and the
// app's custom hosts, its redirect to HTTPS and its given certificates.
func routeOf(app nua.App, domain string) proxy.Route {
	route := proxy.Route{
		App:      app.Name,
		Hosts:    append([]string{app.Name + "." + domain}, app.Domains...),
		Redirect: !app.NoRedirect,
	}
	for _, c := range app.Certs {
		route.Certs = append(route.Certs, proxy.Cert{Host: c.Host, File: c.File})
	}
	return route
}

// Reroute points the app's running web instances at app's hosts, TLS
// settings and certificates: only the route changes, the instances keep
// running. An app with no web instance running has no route to change.
func (r *Runtime) Reroute(ctx context.Context, app nua.App) error {
	webs := r.instances(app.Name, "web")
	if len(webs) == 0 {
		return nil
	}
	return r.route(ctx, app, webs)
}

// CertStatus returns the state of the ACME certificate of each host, and
// whether the proxy serves HTTPS.
func (r *Runtime) CertStatus(hosts []string) (map[string]nua.CertStatus, bool) {
	cs, ok := r.cfg.Router.(certStater)
	if !ok {
		return nil, false
	}
	states, https := cs.CertStates(hosts)
	out := make(map[string]nua.CertStatus, len(states))
	for h, st := range states {
		s := nua.CertStatus{Host: h, State: nua.CertPending, Issuer: st.Issuer, NotAfter: st.NotAfter, Reason: st.Failure}
		switch {
		case st.Issued:
			s.State = nua.CertIssued
		case st.Failure != "":
			s.State = nua.CertFailed
		}
		out[h] = s
	}
	return out, https
}
