package proxy

import (
	"slices"
	"strconv"
	"strings"
)

// The dynamic configuration of HTTPS.
type (
	routerTLS struct {
		CertResolver string      `yaml:"certResolver,omitempty"`
		Domains      []tlsDomain `yaml:"domains,omitempty"`
	}
	tlsDomain struct {
		Main string `yaml:"main"`
	}
	middleware struct {
		RedirectScheme *redirectScheme `yaml:"redirectScheme,omitempty"`
	}
	redirectScheme struct {
		Scheme    string `yaml:"scheme"`
		Port      string `yaml:"port,omitempty"`
		Permanent bool   `yaml:"permanent"`
	}
	tlsFiles struct {
		Certificates []certFiles `yaml:"certificates"`
	}
	certFiles struct {
		CertFile string `yaml:"certFile"`
		KeyFile  string `yaml:"keyFile"`
	}
)

// Router name suffixes: a route has at most one router of each kind, and
// one more of each for its wildcard hosts.
const (
	suffixRedirect = "-redirect"   // web: hosts redirected to HTTPS
	suffixSecure   = "-secure"     // websecure: hosts with ACME certificates
	suffixOwn      = "-secure-own" // websecure: hosts with given certificates
	suffixWildcard = "-wildcard"
)

// routerNames are the names of every router a route of app may have.
func routerNames(app string) []string {
	var names []string
	for _, kind := range []string{"", suffixRedirect, suffixSecure, suffixOwn} {
		names = append(names, app+kind, app+kind+suffixWildcard)
	}
	return names
}

// tlsView is what render needs to know of HTTPS: its public port, for
// redirects, and which hosts have an ACME certificate by now.
type tlsView struct {
	port   int
	issued func(host string) bool
}

// addRouters adds base as router name for the hosts of hosts that are
// names and as router name-wildcard, tried after every other, for the
// wildcard ones: a host always goes to the app that has it by name.
func addRouters(routers map[string]router, name string, hosts []string, base router) {
	var exact, wild []string
	for _, h := range hosts {
		if strings.HasPrefix(h, "*.") {
			wild = append(wild, h)
		} else {
			exact = append(exact, h)
		}
	}
	if len(exact) > 0 {
		r := base
		r.Rule = hostRule(exact)
		if r.TLS != nil && r.TLS.CertResolver != "" {
			r.TLS = &routerTLS{CertResolver: r.TLS.CertResolver, Domains: domainsOf(exact)}
		}
		routers[name] = r
	}
	if len(wild) > 0 {
		r := base
		r.Rule = hostRule(wild)
		r.Priority = 1
		if r.TLS != nil && r.TLS.CertResolver != "" {
			r.TLS = &routerTLS{CertResolver: r.TLS.CertResolver, Domains: domainsOf(wild)}
		}
		routers[name+suffixWildcard] = r
	}
}

// domainsOf asks for one certificate per host, so that a host the CA
// refuses holds up no other.
func domainsOf(hosts []string) []tlsDomain {
	ds := make([]tlsDomain, len(hosts))
	for i, h := range hosts {
		ds[i] = tlsDomain{Main: h}
	}
	return ds
}

// routers adds r's routers when Traefik serves HTTPS: on web, the hosts
// served plainly and those redirected to HTTPS; on websecure, the hosts
// with ACME certificates and those with given ones.
func (tv *tlsView) routers(cfg *dynamicConfig, r Route, web router) {
	given := func(h string) bool { return slices.ContainsFunc(r.Certs, func(c Cert) bool { return c.Host == h }) }
	var plain, redirect, acme, own []string
	for _, h := range r.Hosts {
		if r.Redirect && (given(h) || tv.issued(h)) {
			redirect = append(redirect, h)
		} else {
			plain = append(plain, h)
		}
		if given(h) {
			own = append(own, h)
		} else {
			acme = append(acme, h)
		}
	}
	routers := cfg.HTTP.Routers
	addRouters(routers, r.App, plain, web)
	if len(redirect) > 0 {
		mw := r.App + "-https"
		rs := &redirectScheme{Scheme: "https"}
		if tv.port != 443 && tv.port != 0 {
			rs.Port = strconv.Itoa(tv.port)
		}
		cfg.HTTP.Middlewares = map[string]middleware{mw: {RedirectScheme: rs}}
		red := web
		red.Middlewares = []string{mw}
		addRouters(routers, r.App+suffixRedirect, redirect, red)
	}
	secure := router{Service: r.App, EntryPoints: []string{secureEntryPoint}}
	withACME := secure
	withACME.TLS = &routerTLS{CertResolver: resolverName}
	addRouters(routers, r.App+suffixSecure, acme, withACME)
	withOwn := secure
	withOwn.TLS = &routerTLS{}
	addRouters(routers, r.App+suffixOwn, own, withOwn)
	for _, c := range r.Certs {
		cfg.TLS.Certificates = append(cfg.TLS.Certificates, certFiles{CertFile: c.File, KeyFile: c.File})
	}
}
