package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// HTTPS is how Traefik serves the apps over HTTPS: a websecure entrypoint
// and an ACME certificate resolver that gets a certificate for every
// host lacking a given one.
type HTTPS struct {
	// Addr is the address of the websecure entrypoint, e.g. :443.
	Addr string
	// Email is the ACME account's contact.
	Email string
	// CA is the ACME directory URL; "" is Let's Encrypt's.
	CA string
	// CARoots is a PEM file of the roots that the CA's own HTTPS
	// certificate chains to, when the system's do not (a private CA).
	CARoots string
	// Challenge is how the CA checks a host is ours: "http" (HTTP-01 on
	// the web entrypoint, the default), "tls-alpn" (TLS-ALPN-01 on
	// websecure) or "dns" (DNS-01 through DNSProvider, for wildcards).
	Challenge string
	// DNSProvider names the lego DNS provider for "dns"; its credentials
	// come from Traefik's environment (nua's own).
	DNSProvider string
	// DNSResolvers, host:port each, are the DNS servers where the "dns"
	// challenge's record must show before the CA is asked to look; none:
	// the system's, then the zone's authoritative servers.
	DNSResolvers []string
	// Retry is how often Traefik asks the CA again for the hosts that
	// lack a certificate (their DNS may point here by now); 0 is 15
	// minutes, within Let's Encrypt's limit on failed validations.
	Retry time.Duration
	// CertHours is the lifetime, in hours, of the certificates the CA
	// issues, from which Traefik derives when to renew; 0 is 90 days.
	CertHours int
}

// The challenges.
const (
	ChallengeHTTP    = "http"
	ChallengeTLSALPN = "tls-alpn"
	ChallengeDNS     = "dns"
)

// resolverName names the ACME certificate resolver in Traefik's config.
const resolverName = "acme"

// secureEntryPoint is the name of the HTTPS entrypoint.
const secureEntryPoint = "websecure"

// Validate reports the first bad field of h.
func (h HTTPS) Validate() error {
	if _, _, err := net.SplitHostPort(h.Addr); err != nil {
		return fmt.Errorf("https config: Addr %q: %w", h.Addr, err)
	}
	if a, err := mail.ParseAddress(h.Email); err != nil || a.Address != h.Email {
		return fmt.Errorf("https config: ACME email %q: give the address the CA may write to about certificates", h.Email)
	}
	if h.CA != "" {
		if u, err := url.Parse(h.CA); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("https config: ACME CA %q: give the https:// URL of the CA's ACME directory", h.CA)
		}
	}
	if h.CARoots != "" {
		if _, err := os.Stat(h.CARoots); err != nil {
			return fmt.Errorf("https config: ACME CA roots: %w", err)
		}
	}
	switch h.Challenge {
	case "", ChallengeHTTP, ChallengeTLSALPN:
		if h.DNSProvider != "" || len(h.DNSResolvers) > 0 {
			return errors.New("https config: a DNS provider and DNS resolvers are for the dns challenge")
		}
	case ChallengeDNS:
		if h.DNSProvider == "" {
			return errors.New("https config: the dns challenge needs a DNS provider (a lego provider name such as cloudflare)")
		}
		for _, r := range h.DNSResolvers {
			if _, _, err := net.SplitHostPort(r); err != nil {
				return fmt.Errorf("https config: DNS resolver %q: give HOST:PORT", r)
			}
		}
	default:
		return fmt.Errorf("https config: challenge %q: use http, tls-alpn or dns", h.Challenge)
	}
	if h.Retry < 0 {
		return errors.New("https config: ACME retry: give a positive duration, 0 for 15 minutes")
	}
	if h.CertHours < 0 {
		return errors.New("https config: certificate lifetime: give hours, 0 for 90 days")
	}
	return nil
}

// port is the public port of the websecure entrypoint.
func (h HTTPS) port() int {
	_, p, _ := net.SplitHostPort(h.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// The static configuration of HTTPS.
type (
	certResolver struct {
		ACME acmeConfig `yaml:"acme"`
	}
	acmeConfig struct {
		Email                string         `yaml:"email"`
		Storage              string         `yaml:"storage"`
		CAServer             string         `yaml:"caServer,omitempty"`
		CertificatesDuration int            `yaml:"certificatesDuration,omitempty"`
		HTTPChallenge        *httpChallenge `yaml:"httpChallenge,omitempty"`
		TLSChallenge         *struct{}      `yaml:"tlsChallenge,omitempty"`
		DNSChallenge         *dnsChallenge  `yaml:"dnsChallenge,omitempty"`
	}
	httpChallenge struct {
		EntryPoint string `yaml:"entryPoint"`
	}
	dnsChallenge struct {
		Provider    string       `yaml:"provider"`
		Resolvers   []string     `yaml:"resolvers,omitempty"`
		Propagation *propagation `yaml:"propagation,omitempty"`
	}
	propagation struct {
		DisableANSChecks bool `yaml:"disableANSChecks"`
		RequireAllRNS    bool `yaml:"requireAllRNS"`
	}
)

// acmeDir holds acme.json, Traefik's store of ACME account and
// certificates: root's alone, as it holds their keys.
func (t *Traefik) acmeDir() string  { return filepath.Join(t.cfg.Dir, "acme") }
func (t *Traefik) acmeFile() string { return filepath.Join(t.acmeDir(), "acme.json") }

// resolver is the static configuration of the ACME resolver.
func (h HTTPS) resolver(storage string) certResolver {
	c := acmeConfig{Email: h.Email, Storage: storage, CAServer: h.CA, CertificatesDuration: h.CertHours}
	switch h.Challenge {
	case ChallengeTLSALPN:
		c.TLSChallenge = &struct{}{}
	case ChallengeDNS:
		c.DNSChallenge = &dnsChallenge{Provider: h.DNSProvider}
		if len(h.DNSResolvers) > 0 { // the record must show there, and that is enough
			c.DNSChallenge.Resolvers = h.DNSResolvers
			c.DNSChallenge.Propagation = &propagation{DisableANSChecks: true, RequireAllRNS: true}
		}
	default:
		c.HTTPChallenge = &httpChallenge{EntryPoint: webEntryPoint}
	}
	return certResolver{ACME: c}
}

// prepareACME makes the directory of acme.json, root's alone, and makes
// an existing acme.json root's alone too, which Traefik requires.
func (t *Traefik) prepareACME() error {
	if err := os.MkdirAll(t.acmeDir(), 0o700); err != nil {
		return fmt.Errorf("create acme dir: %w", err)
	}
	if err := os.Chmod(t.acmeDir(), 0o700); err != nil {
		return fmt.Errorf("chmod acme dir: %w", err)
	}
	if err := os.Chmod(t.acmeFile(), 0o600); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("chmod acme.json: %w", err)
	}
	return nil
}

// DefaultRetry is how often the CA is asked again for hosts lacking a
// certificate, unless HTTPS.Retry says.
const DefaultRetry = 15 * time.Minute

func (h HTTPS) retry() time.Duration {
	if h.Retry > 0 {
		return h.Retry
	}
	return DefaultRetry
}
