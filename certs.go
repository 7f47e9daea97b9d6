package nua

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Cert is a certificate an app's member gave for one of its hosts: a PEM
// bundle of the key and the chain, kept in a file only root reads.
type Cert struct {
	Host     string    `json:"host"`
	File     string    `json:"file"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
}

// Certificate states, as `certs` shows them.
const (
	CertIssued  = "issued"  // ACME issued it
	CertPending = "pending" // ACME is asked, or will be once HTTPS serves
	CertFailed  = "failed"  // ACME refused it; Reason says why
	CertCustom  = "custom"  // given with certs:add
	CertOff     = "off"     // the server serves no HTTPS
)

// CertStatus is the state of one host's certificate.
type CertStatus struct {
	Host     string
	State    string
	Issuer   string
	NotAfter time.Time
	// Reason is why ACME failed, in its words.
	Reason string
}

// CertReporter is an optional interface of a Runner: it tells the state
// of the ACME certificate of each host.
type CertReporter interface {
	// CertStatus returns the state of each host's certificate, by host.
	// HTTPS reports whether the server serves HTTPS at all.
	CertStatus(hosts []string) (status map[string]CertStatus, https bool)
}

// Certs returns the state of the certificate of each of the app's hosts,
// APP.DOMAIN first.
func (p *Platform) Certs(name string) ([]CertStatus, error) {
	app, err := p.App(name)
	if err != nil {
		return nil, err
	}
	return p.certStatus(app), nil
}

func (p *Platform) certStatus(app App) []CertStatus {
	acme, https := p.acmeStatus(p.Hosts(app))
	return p.certStatusOf(app, acme, https)
}

// acmeStatus asks the runner for the state of the hosts' ACME certificates.
func (p *Platform) acmeStatus(hosts []string) (map[string]CertStatus, bool) {
	if r, ok := p.cfg.Runner.(CertReporter); ok {
		return r.CertStatus(hosts)
	}
	return nil, false
}

// certStatusOf is the state of the certificate of each of app's hosts,
// given the state of the ACME ones.
func (p *Platform) certStatusOf(app App, acme map[string]CertStatus, https bool) []CertStatus {
	hosts := p.Hosts(app)
	out := make([]CertStatus, 0, len(hosts))
	for _, h := range hosts {
		if i := slices.IndexFunc(app.Certs, func(c Cert) bool { return c.Host == h }); i >= 0 {
			c := app.Certs[i]
			out = append(out, CertStatus{Host: h, State: CertCustom, Issuer: c.Issuer, NotAfter: c.NotAfter})
			continue
		}
		st, ok := acme[h]
		switch {
		case !https:
			st = CertStatus{Host: h, State: CertOff}
		case !ok:
			st = CertStatus{Host: h, State: CertPending}
		}
		st.Host = h
		out = append(out, st)
	}
	return out
}

// AddCert takes a PEM bundle (private key and certificate chain, leaf
// first) for the app's hosts: every host of the app it covers is served
// with it from then on, instead of ACME's. It returns those hosts.
// Nothing changes when the bundle does not parse, its key does not match,
// it is expired or not yet valid, or it covers none of the app's hosts.
func (p *Platform) AddCert(ctx context.Context, name string, bundle []byte) ([]string, error) {
	leaf, err := ParseBundle(bundle, time.Now())
	if err != nil {
		return nil, err
	}
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var covered []string
	for _, h := range p.Hosts(app) {
		if covers(leaf, h) {
			covered = append(covered, h)
		}
	}
	if len(covered) == 0 {
		return nil, fmt.Errorf("%w: the certificate (for %s) covers none of %s's hosts (%s): add the domain first with `domains:add`",
			ErrInvalid, strings.Join(certNames(leaf), ", "), app.Name, strings.Join(p.Hosts(app), ", "))
	}
	dir := filepath.Join(p.cfg.DataDir, "certs", app.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("add certificate: %w", err)
	}
	old := slices.Clone(app.Certs)
	var written []string
	for _, h := range covered {
		file := filepath.Join(dir, strings.ReplaceAll(h, "*", "_wildcard")+".pem")
		tmp := file + ".new"
		if err := writeSecret(tmp, bundle); err != nil {
			return nil, fmt.Errorf("add certificate: %w", err)
		}
		written = append(written, tmp)
		p.dropCerts(&app, func(c Cert) bool { return c.Host == h })
		app.Certs = append(app.Certs, Cert{Host: h, File: file, Issuer: leaf.Issuer.String(), NotAfter: leaf.NotAfter.UTC()})
	}
	// The files take their place before Traefik reads the new route.
	for _, tmp := range written {
		if err := os.Rename(tmp, strings.TrimSuffix(tmp, ".new")); err != nil {
			return nil, fmt.Errorf("add certificate: %w", err)
		}
	}
	if err := p.saveRouted(ctx, app); err != nil {
		app.Certs = old
		return nil, err
	}
	p.cfg.Monitor.Event(app.Name, "certs", fmt.Sprintf("certificate of %s added for %s, expires %s",
		leaf.Issuer.CommonName, strings.Join(covered, ", "), leaf.NotAfter.UTC().Format(time.DateOnly)))
	return covered, nil
}

// RemoveCert removes the certificate given for host: ACME's serves it
// from then on.
func (p *Platform) RemoveCert(ctx context.Context, name, host string) error {
	norm, err := NormalizeHost(host)
	if err != nil {
		return err
	}
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return err
	}
	defer unlock()
	dropped := p.dropCerts(&app, func(c Cert) bool { return c.Host == norm })
	if len(dropped) == 0 {
		return fmt.Errorf("%s has no certificate given for %s: %w (`certs %s` lists them)", app.Name, norm, ErrNotFound, app.Name)
	}
	if err := p.saveRouted(ctx, app); err != nil {
		return err
	}
	p.removeCertFiles(dropped)
	p.cfg.Monitor.Event(app.Name, "certs", "certificate of "+norm+" removed")
	return nil
}

// dropCerts removes the app's certificates that drop selects and returns them.
func (p *Platform) dropCerts(app *App, drop func(Cert) bool) []Cert {
	var dropped, kept []Cert
	for _, c := range app.Certs {
		if drop(c) {
			dropped = append(dropped, c)
		} else {
			kept = append(kept, c)
		}
	}
	app.Certs = kept
	return dropped
}

func (p *Platform) removeCertFiles(certs []Cert) {
	for _, c := range certs {
		if err := os.Remove(c.File); err != nil && !os.IsNotExist(err) {
			p.log.Warn("remove certificate file", "file", c.File, "err", err)
		}
	}
}

// writeSecret writes data to a new file only its owner reads.
func writeSecret(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// MaxBundle is the largest certificate bundle certs:add takes.
const MaxBundle = 1 << 20

// ParseBundle checks a PEM bundle of a private key and a certificate
// chain, leaf first, at time now, and returns the leaf.
func ParseBundle(bundle []byte, now time.Time) (*x509.Certificate, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: certificate bundle: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	if len(bundle) > MaxBundle {
		return nil, bad("larger than %d bytes", MaxBundle)
	}
	var certs, keys int
	for rest := bundle; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			certs++
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			keys++
		}
	}
	switch {
	case certs == 0:
		return nil, bad("no PEM CERTIFICATE block: give the key and the chain, leaf first, e.g. `cat key.pem fullchain.pem`")
	case keys == 0:
		return nil, bad("no PEM PRIVATE KEY block: give the key and the chain, leaf first")
	case keys > 1:
		return nil, bad("%d private keys: give only the leaf's", keys)
	}
	pair, err := tls.X509KeyPair(bundle, bundle)
	if err != nil {
		return nil, bad("%v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, bad("leaf: %v", err)
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, bad("expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, bad("not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return leaf, nil
}

// covers reports whether the certificate is valid for host, a wildcard
// host only through the same wildcard.
func covers(leaf *x509.Certificate, host string) bool {
	if strings.HasPrefix(host, "*.") {
		return slices.Contains(leaf.DNSNames, host)
	}
	return leaf.VerifyHostname(host) == nil
}

func certNames(leaf *x509.Certificate) []string {
	if len(leaf.DNSNames) > 0 {
		return leaf.DNSNames
	}
	return []string{leaf.Subject.CommonName}
}
