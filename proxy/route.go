package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nua-paas/nua/internal/appname"
)

// Route sends the HTTP requests for an app's hosts to its web instances.
type Route struct {
	// App is the app's name, a DNS label. It names the router, the service
	// and the dynamic file (APP.yml).
	App string
	// Hosts are the host names the app answers on, e.g. myapp.localhost.
	Hosts []string
	// Servers are the web instances' base URLs, e.g. http://127.0.0.1:41234.
	// Requests are balanced between them.
	Servers []string
	// Redirect sends plain HTTP requests for a host to HTTPS once the host
	// has a certificate, when Traefik serves HTTPS.
	Redirect bool
	// Certs are certificates given for some of Hosts; Traefik's ACME
	// resolver gets one for each other host, when it serves HTTPS.
	Certs []Cert
}

// Cert is a certificate given for one host: File is a PEM bundle of the
// private key and the chain, leaf first.
type Cert struct {
	Host string
	File string
}

var (
	// ErrInvalidRoute is wrapped by every error about a bad Route.
	ErrInvalidRoute = errors.New("invalid route")
	// ErrNotOpen means a route was changed before Open succeeded.
	ErrNotOpen = errors.New("traefik not open")
	// ErrClosed means a route was changed after Close.
	ErrClosed = errors.New("traefik closed")
)

// entryPoint is the name of the entrypoint that serves the apps.
const webEntryPoint = "web"

// Validate reports the first bad field of r.
func (r Route) Validate() error {
	if err := validateApp(r.App); err != nil {
		return err
	}
	if len(r.Hosts) == 0 {
		return fmt.Errorf("%w: app %s: no hosts", ErrInvalidRoute, r.App)
	}
	if err := eachUnique(r.Hosts, validateHost); err != nil {
		return fmt.Errorf("%w: app %s: host %w", ErrInvalidRoute, r.App, err)
	}
	if len(r.Servers) == 0 {
		return fmt.Errorf("%w: app %s: no servers", ErrInvalidRoute, r.App)
	}
	if err := eachUnique(r.Servers, validateServer); err != nil {
		return fmt.Errorf("%w: app %s: server %w", ErrInvalidRoute, r.App, err)
	}
	for _, c := range r.Certs {
		if !slices.Contains(r.Hosts, c.Host) {
			return fmt.Errorf("%w: app %s: certificate for %q, not one of its hosts", ErrInvalidRoute, r.App, c.Host)
		}
		if !filepath.IsAbs(c.File) || strings.ContainsAny(c.File, "\n\r") {
			return fmt.Errorf("%w: app %s: certificate file %q: want an absolute path", ErrInvalidRoute, r.App, c.File)
		}
	}
	return nil
}

func validateApp(app string) error {
	if !appname.Valid(app) {
		return fmt.Errorf("%w: app name %q: want a lowercase DNS label (a-z, 0-9, -; starting with a letter, not ending with a dash; at most 63 characters)", ErrInvalidRoute, app)
	}
	return nil
}

// eachUnique checks every item with check and rejects duplicates.
func eachUnique(items []string, check func(string) error) error {
	seen := make(map[string]bool, len(items))
	for _, s := range items {
		if err := check(s); err != nil {
			return err
		}
		if seen[s] {
			return fmt.Errorf("%q: listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// validateHost accepts lowercase host names made of DNS labels, the first
// of which may be the wildcard *.
func validateHost(h string) error {
	if h == "" || len(h) > 253 {
		return fmt.Errorf("%q: want a host name of 1 to 253 characters", h)
	}
	for i, label := range strings.Split(h, ".") {
		if i == 0 && label == "*" && strings.Count(h, ".") >= 2 {
			continue
		}
		if !hostLabel.MatchString(label) {
			return fmt.Errorf("%q: want lowercase labels (a-z, 0-9, -) separated by dots", h)
		}
	}
	return nil
}

// validateServer accepts http://HOST:PORT in canonical form, nothing more.
func validateServer(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if u.Scheme != "http" || u.Host == "" || u.User != nil || u.Opaque != "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || u.String() != s {
		return fmt.Errorf("%q: want http://HOST:PORT", s)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return fmt.Errorf("%q: want http://HOST:PORT", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return fmt.Errorf("%q: port %q: want 1 to 65535", s, port)
	}
	if net.ParseIP(host) == nil {
		if err := validateHost(host); err != nil {
			return fmt.Errorf("%q: host: %w", s, err)
		}
	}
	return nil
}

// hostRule is the router rule matching hosts: Host for a name,
// HostRegexp for a wildcard, which matches one label.
func hostRule(hosts []string) string {
	parts := make([]string, len(hosts))
	for i, h := range hosts {
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			parts[i] = "HostRegexp(`^[a-z0-9-]+\\." + strings.ReplaceAll(rest, ".", "\\.") + "$`)"
		} else {
			parts[i] = "Host(`" + h + "`)"
		}
	}
	return strings.Join(parts, " || ")
}

// The dynamic configuration, as much of it as nua writes.
type (
	dynamicConfig struct {
		HTTP httpConfig `yaml:"http"`
		TLS  tlsFiles   `yaml:"tls,omitempty"`
	}
	httpConfig struct {
		Routers     map[string]router     `yaml:"routers"`
		Middlewares map[string]middleware `yaml:"middlewares,omitempty"`
		Services    map[string]service    `yaml:"services"`
	}
	router struct {
		Rule        string     `yaml:"rule"`
		Service     string     `yaml:"service"`
		EntryPoints []string   `yaml:"entryPoints"`
		Middlewares []string   `yaml:"middlewares,omitempty"`
		Priority    int        `yaml:"priority,omitempty"`
		TLS         *routerTLS `yaml:"tls,omitempty"`
	}
	service struct {
		LoadBalancer loadBalancer `yaml:"loadBalancer"`
	}
	loadBalancer struct {
		Servers []server `yaml:"servers" json:"servers"`
	}
	server struct {
		URL string `yaml:"url" json:"url"`
	}
)

// Marshal returns the dynamic configuration file for r, served over
// plain HTTP only, after validating r.
func Marshal(r Route) ([]byte, error) { return render(r, nil) }

// render returns the dynamic configuration file for r, after validating
// r; tv says how HTTPS is served, nil when it is not.
func render(r Route, tv *tlsView) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	servers := make([]server, len(r.Servers))
	for i, s := range r.Servers {
		servers[i] = server{URL: s}
	}
	cfg := dynamicConfig{HTTP: httpConfig{
		Routers: map[string]router{},
		Services: map[string]service{r.App: {
			LoadBalancer: loadBalancer{Servers: servers},
		}},
	}}
	web := router{Service: r.App, EntryPoints: []string{webEntryPoint}}
	if tv == nil {
		addRouters(cfg.HTTP.Routers, r.App, r.Hosts, web)
	} else {
		tv.routers(&cfg, r, web)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Route of app %s, written by nua: changes here are overwritten.\n", r.App)
	if err := encodeYAML(&buf, cfg); err != nil {
		return nil, fmt.Errorf("marshal route %s: %w", r.App, err)
	}
	return buf.Bytes(), nil
}

func encodeYAML(buf *bytes.Buffer, v any) error {
	enc := yaml.NewEncoder(buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}
