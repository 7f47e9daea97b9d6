package nua

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/net/idna"
)

// Domains: besides APP.DOMAIN, an app answers on the custom hosts its
// members add. A host belongs to one app at a time; hosts are stored and
// routed in their ASCII (punycode) form.

// MaxDomains is how many custom hosts one app may have.
const MaxDomains = 100

// Rerouter is an optional interface of a Runner: it points the app's
// running web instances at the app's current hosts, TLS settings and
// certificates, rewriting only the route, with no restart.
type Rerouter interface {
	Reroute(ctx context.Context, app App) error
}

var (
	hostLabelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// idnaProfile maps a host as a browser does before a lookup, and
	// refuses what cannot be a host name.
	idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.ValidateLabels(true), idna.StrictDomainName(true))
)

// NormalizeHost checks that h can be a custom host of an app and returns
// its ASCII form: lowercase, internationalised labels in punycode. A
// wildcard host (*.example.org) stands for one label in front of the rest.
func NormalizeHost(h string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: host %q: %s", ErrInvalid, clip(h), why)
	}
	switch {
	case h == "":
		return "", bad("empty: give a host name such as www.example.org")
	case len(h) > 253:
		return "", bad("longer than 253 characters")
	case strings.HasSuffix(h, "."):
		return "", bad("drop the trailing dot")
	case strings.HasPrefix(h, ".") || strings.Contains(h, ".."):
		return "", bad("has an empty label (a dot at the start or two dots in a row)")
	case strings.Contains(h, "_"):
		return "", bad("underscores are not allowed in host names: use dashes")
	case strings.ContainsAny(h, ":/[]@ \t\r\n"):
		return "", bad("give a bare host name, without scheme, port, path or spaces")
	case net.ParseIP(h) != nil:
		return "", bad("an IP address cannot be a domain: give a host name that points at this server")
	}
	wild := strings.HasPrefix(h, "*.")
	rest := strings.TrimPrefix(h, "*.")
	if strings.Contains(rest, "*") {
		return "", bad("a wildcard may only be the whole first label, as in *.example.org")
	}
	ascii, err := idnaProfile.ToASCII(rest)
	if err == nil {
		// The stored form must read back as itself: some inputs map to
		// punycode that does not decode to a valid name.
		if again, err2 := idnaProfile.ToASCII(ascii); err2 != nil || again != ascii {
			err = fmt.Errorf("%s does not read back as a host name", ascii)
		}
	}
	if err != nil {
		return "", bad("not a valid (internationalised) host name: " + err.Error())
	}
	labels := strings.Split(ascii, ".")
	for _, l := range labels {
		if !hostLabelRE.MatchString(l) {
			return "", bad(fmt.Sprintf("label %q: use 1 to 63 letters, digits and dashes, not starting or ending with a dash", clip(l)))
		}
	}
	if len(labels) < 2 {
		return "", bad("give a fully qualified name such as www.example.org")
	}
	if net.ParseIP(ascii) != nil || isNumeric(labels[len(labels)-1]) {
		return "", bad("an IP address cannot be a domain: give a host name that points at this server")
	}
	if wild {
		if len(labels) < 2 {
			return "", bad("a wildcard needs a domain of two labels or more, as in *.example.org")
		}
		ascii = "*." + ascii
	}
	if len(ascii) > 253 {
		return "", bad("longer than 253 characters once encoded")
	}
	return ascii, nil
}

func isNumeric(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// DefaultHost is the host every app answers on: APP.DOMAIN.
func (p *Platform) DefaultHost(app string) string { return app + "." + p.cfg.Domain }

// Hosts are all the hosts app answers on: APP.DOMAIN, then its custom hosts.
func (p *Platform) Hosts(app App) []string {
	return append([]string{p.DefaultHost(app.Name)}, app.Domains...)
}

// Domains returns the app's custom hosts, sorted.
func (p *Platform) Domains(name string) ([]string, error) {
	a, err := p.App(name)
	if err != nil {
		return nil, err
	}
	return a.Domains, nil
}

// AddDomains adds hosts to the app's custom hosts and reroutes it, with
// no restart. who is the caller: an error about a host another app has
// names that app only if who may see it. It returns the hosts added, in
// their stored form; nothing changes unless every host is valid and free.
func (p *Platform) AddDomains(ctx context.Context, name string, hosts []string, who Identity) ([]string, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%w: no host given", ErrInvalid)
	}
	var norm []string
	for _, h := range hosts {
		n, err := NormalizeHost(h)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(norm, n) {
			norm = append(norm, n)
		}
	}
	p.domainMu.Lock() // one host, one app: no two apps claim it at once
	defer p.domainMu.Unlock()
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var added []string
	for _, h := range norm {
		if slices.Contains(app.Domains, h) {
			continue
		}
		if err := p.hostFree(app.Name, h, who); err != nil {
			return nil, err
		}
		added = append(added, h)
	}
	if len(added) == 0 {
		return nil, nil
	}
	if len(app.Domains)+len(added) > MaxDomains {
		return nil, fmt.Errorf("%w: app %s would have more than %d custom hosts", ErrInvalid, app.Name, MaxDomains)
	}
	app.Domains = slices.Sorted(slices.Values(append(slices.Clone(app.Domains), added...)))
	if err := p.saveRouted(ctx, app); err != nil {
		return nil, err
	}
	p.cfg.Monitor.Event(app.Name, "domains", "added "+strings.Join(added, ", "))
	return added, nil
}

// hostFree checks that no app but app answers on host.
func (p *Platform) hostFree(app, host string, who Identity) error {
	if label, ok := strings.CutSuffix(host, "."+p.cfg.Domain); ok && !strings.Contains(label, ".") {
		if label == app {
			return fmt.Errorf("%w: %s is the app's own address already", ErrInvalid, host)
		}
		return fmt.Errorf("%w: host %s: the hosts directly under %s are the apps' own addresses (APP.%s): pick another host", ErrInvalid, host, p.cfg.Domain, p.cfg.Domain)
	}
	if host == "*."+p.cfg.Domain || host == p.cfg.Domain {
		return fmt.Errorf("%w: host %s would take the apps' own addresses: pick another host", ErrInvalid, host)
	}
	if host == p.cfg.DashboardHost {
		return fmt.Errorf("%w: host %s is nua's own (its dashboard): pick another host", ErrInvalid, host)
	}
	apps, err := p.cfg.Store.Apps()
	if err != nil {
		return err
	}
	for _, a := range apps {
		if a.Name == app || !slices.Contains(a.Domains, host) {
			continue
		}
		if p.maySee(who, a.Name) {
			return fmt.Errorf("%w: host %s belongs to app %s: run `domains:remove %s %s` first", ErrInvalid, host, a.Name, a.Name, host)
		}
		return fmt.Errorf("%w: host %s belongs to another app: ask an admin", ErrInvalid, host)
	}
	return nil
}

// maySee reports whether who may see the app.
func (p *Platform) maySee(who Identity, app string) bool {
	if who.Admin {
		return true
	}
	acc, err := p.cfg.Store.Access(app)
	return err == nil && acc.Member(who.User)
}

// RemoveDomain removes host from the app's custom hosts, with its
// certificate, and reroutes the app.
func (p *Platform) RemoveDomain(ctx context.Context, name, host string) error {
	norm, err := NormalizeHost(host)
	if err != nil {
		return err
	}
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return err
	}
	defer unlock()
	if !slices.Contains(app.Domains, norm) {
		return fmt.Errorf("host %s is not a domain of %s: %w (`domains %s` lists them)", norm, app.Name, ErrNotFound, app.Name)
	}
	app.Domains = slices.DeleteFunc(slices.Clone(app.Domains), func(d string) bool { return d == norm })
	dropped := p.dropCerts(&app, func(c Cert) bool { return c.Host == norm })
	if err := p.saveRouted(ctx, app); err != nil {
		return err
	}
	p.removeCertFiles(dropped)
	p.cfg.Monitor.Event(app.Name, "domains", "removed "+norm)
	return nil
}

// ClearDomains removes every custom host of the app, with their
// certificates; the app keeps APP.DOMAIN.
func (p *Platform) ClearDomains(ctx context.Context, name string) ([]string, error) {
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old := app.Domains
	if len(old) == 0 {
		return nil, nil
	}
	app.Domains = nil
	def := p.DefaultHost(app.Name)
	dropped := p.dropCerts(&app, func(c Cert) bool { return c.Host != def })
	if err := p.saveRouted(ctx, app); err != nil {
		return nil, err
	}
	p.removeCertFiles(dropped)
	p.cfg.Monitor.Event(app.Name, "domains", "cleared "+strings.Join(old, ", "))
	return old, nil
}

// SetRedirect turns the app's redirect of HTTP to HTTPS on or off. When
// on (the default), plain HTTP requests for a host with a certificate are
// redirected to HTTPS.
func (p *Platform) SetRedirect(ctx context.Context, name string, on bool) error {
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return err
	}
	defer unlock()
	if app.NoRedirect == !on {
		return nil
	}
	app.NoRedirect = !on
	if err := p.saveRouted(ctx, app); err != nil {
		return err
	}
	p.cfg.Monitor.Event(app.Name, "domains", "redirect to HTTPS "+onOff(on))
	return nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// saveRouted points the app's running web instances at app's hosts, then
// records app. When the route cannot change, nothing is recorded.
func (p *Platform) saveRouted(ctx context.Context, app App) error {
	if rr, ok := p.cfg.Runner.(Rerouter); ok && app.Release != 0 && !app.Stopped {
		if err := rr.Reroute(ctx, app); err != nil {
			return fmt.Errorf("reroute %s: %w", app.Name, err)
		}
	}
	return p.cfg.Store.PutApp(app)
}

// Ports returns the proxy's public HTTP and HTTPS ports (0: none).
func (p *Platform) Ports() (http, https int) { return p.cfg.HTTPPort, p.cfg.HTTPSPort }
