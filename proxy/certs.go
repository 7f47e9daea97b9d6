package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// routeState is what Traefik remembers of the routes it wrote: with
// HTTPS, a route changes when a host's certificate comes (its redirect).
type routeState struct {
	mu      sync.Mutex
	routes  map[string]Route     // by app
	written map[string][]byte    // the file last written, by app
	since   map[string]time.Time // when each host was first routed here
}

// render returns r's dynamic file as Traefik serves it now.
func (t *Traefik) render(r Route) ([]byte, error) {
	if t.cfg.HTTPS == nil {
		return Marshal(r)
	}
	certs := t.acmeCerts()
	return render(r, &tlsView{port: t.cfg.HTTPS.port(), issued: func(h string) bool {
		c, ok := certs[h]
		return ok && time.Now().Before(c.NotAfter)
	}})
}

func (t *Traefik) remember(r Route, data []byte) {
	s := &t.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.routes == nil {
		s.routes, s.written, s.since = map[string]Route{}, map[string][]byte{}, map[string]time.Time{}
	}
	s.routes[r.App], s.written[r.App] = r, data
	for _, h := range r.Hosts {
		if _, ok := s.since[h]; !ok {
			s.since[h] = time.Now()
		}
	}
}

func (t *Traefik) forget(app string) {
	s := &t.state
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.routes[app].Hosts {
		delete(s.since, h)
	}
	delete(s.routes, app)
	delete(s.written, app)
}

// refreshRoutes rewrites the routes whose file changed since they were
// written: those with a host whose ACME certificate came, now redirected
// to HTTPS. It does not wait for Traefik to load them.
func (t *Traefik) refreshRoutes() {
	s := &t.state
	s.mu.Lock()
	routes := make([]Route, 0, len(s.routes))
	for _, r := range s.routes {
		if r.Redirect {
			routes = append(routes, r)
		}
	}
	s.mu.Unlock()
	for _, r := range routes {
		t.refreshRoute(r.App)
	}
}

func (t *Traefik) refreshRoute(app string) {
	unlock := t.lock(app)
	defer unlock()
	s := &t.state
	s.mu.Lock()
	r, ok := s.routes[app]
	old := s.written[app]
	s.mu.Unlock()
	if !ok {
		return
	}
	data, err := t.render(r)
	if err != nil || bytes.Equal(data, old) {
		return
	}
	if err := writeFileAtomic(t.routeFile(app), data); err != nil {
		t.log.Error("rewrite route", "app", app, "err", err)
		return
	}
	s.mu.Lock()
	s.written[app] = data
	s.mu.Unlock()
	t.log.Info("route rewritten: certificate issued", "app", app)
}

// watchCerts rewrites routes as certificates come, every interval, and
// every retry has Traefik ask the CA again for the hosts still lacking
// one, until ctx ends.
func (t *Traefik) watchCerts(ctx context.Context, interval, retry time.Duration) {
	defer t.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last time.Time
	lastTry := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(lastTry) >= retry {
			lastTry = time.Now()
			t.retryMissing()
		}
		fi, err := os.Stat(t.acmeFile())
		if err != nil || fi.ModTime().Equal(last) {
			continue
		}
		last = fi.ModTime()
		t.refreshRoutes()
	}
}

// retryFile is a dynamic file of no app's (app names have no "_"): each
// change of it is a change of Traefik's configuration, after which its
// ACME resolver asks the CA again for every host that lacks a
// certificate. Traefik does so at no other time.
func (t *Traefik) retryFile() string { return filepath.Join(t.dynamicDir(), "_acme-retry.yml") }

// retryMissing changes the retry file when some routed host has no
// certificate, given or from ACME.
func (t *Traefik) retryMissing() {
	certs := t.acmeCerts()
	missing := 0
	s := &t.state
	s.mu.Lock()
	for _, r := range s.routes {
		for _, h := range r.Hosts {
			if _, ok := certs[h]; !ok && !slices.ContainsFunc(r.Certs, func(c Cert) bool { return c.Host == h }) {
				missing++
			}
		}
	}
	s.mu.Unlock()
	if missing == 0 {
		return
	}
	data := fmt.Sprintf("# Written by nua: each change makes Traefik ask the CA again for the hosts lacking a certificate.\n"+
		"http:\n  middlewares:\n    nua-acme-retry:\n      headers:\n        customResponseHeaders:\n          X-Nua-Acme-Retry: %q\n",
		strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := writeFileAtomic(t.retryFile(), []byte(data)); err != nil {
		t.log.Warn("ask the CA again", "err", err)
		return
	}
	t.log.Info("asking the CA again for hosts lacking a certificate", "hosts", missing)
}

// acmeStore is the part of Traefik's acme.json nua reads.
type acmeStore map[string]struct {
	Certificates []struct {
		Domain struct {
			Main string   `json:"main"`
			SANs []string `json:"sans"`
		} `json:"domain"`
		Certificate []byte `json:"certificate"`
	} `json:"Certificates"`
}

// acmeCert is an issued certificate as `certs` shows it.
type acmeCert struct {
	Issuer   string
	NotAfter time.Time
}

// acmeCerts reads the certificates Traefik's resolver holds, by host.
func (t *Traefik) acmeCerts() map[string]acmeCert {
	out := map[string]acmeCert{}
	data, err := os.ReadFile(t.acmeFile())
	if err != nil || len(data) == 0 {
		return out
	}
	var st acmeStore
	if err := json.Unmarshal(data, &st); err != nil {
		t.log.Warn("read acme.json", "err", err)
		return out
	}
	for _, c := range st[resolverName].Certificates {
		b, _ := pem.Decode(c.Certificate)
		if b == nil {
			continue
		}
		leaf, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			continue
		}
		ac := acmeCert{Issuer: leaf.Issuer.CommonName, NotAfter: leaf.NotAfter}
		for _, h := range append([]string{c.Domain.Main}, c.Domain.SANs...) {
			if prev, ok := out[h]; !ok || prev.NotAfter.Before(ac.NotAfter) {
				out[h] = ac
			}
		}
	}
	return out
}

// CertState is the state of one host's ACME certificate.
type CertState struct {
	// Issued is set once the certificate is there; Issuer and NotAfter
	// describe it.
	Issued   bool
	Issuer   string
	NotAfter time.Time
	// Failure is the CA's reason the last attempt failed, "" when none did
	// since the host was routed here.
	Failure string
}

// CertStates returns the state of the ACME certificate of each host, and
// whether Traefik serves HTTPS at all.
func (t *Traefik) CertStates(hosts []string) (map[string]CertState, bool) {
	if t.cfg.HTTPS == nil {
		return nil, false
	}
	certs := t.acmeCerts()
	fails := t.acmeFailures()
	s := &t.state
	s.mu.Lock()
	since := make(map[string]time.Time, len(hosts))
	for _, h := range hosts {
		since[h] = s.since[h]
	}
	s.mu.Unlock()
	out := make(map[string]CertState, len(hosts))
	for _, h := range hosts {
		if c, ok := certs[h]; ok {
			out[h] = CertState{Issued: true, Issuer: c.Issuer, NotAfter: c.NotAfter}
			continue
		}
		var st CertState
		// Traefik logs times to the second.
		if f, ok := fails[h]; ok && !f.at.Before(since[h].Truncate(time.Second)) {
			st.Failure = f.reason
		}
		out[h] = st
	}
	return out, true
}

type acmeFailure struct {
	at     time.Time
	reason string
}

// logLine is the part of a line of Traefik's JSON log nua reads.
type logLine struct {
	Message string   `json:"message"`
	Error   string   `json:"error"`
	Domains []string `json:"domains"`
	Time    string   `json:"time"`
}

// maxLogScan bounds how much of the end of Traefik's log is read for
// ACME failures.
const maxLogScan = 4 << 20

// acmeFailures reads the last ACME failure of each host from Traefik's log.
func (t *Traefik) acmeFailures() map[string]acmeFailure {
	out := map[string]acmeFailure{}
	f, err := os.Open(t.cfg.LogFile)
	if err != nil {
		return out
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxLogScan {
		if _, err := f.Seek(fi.Size()-maxLogScan, io.SeekStart); err != nil {
			return out
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte("ACME certificate")) {
			continue
		}
		var l logLine
		if json.Unmarshal(line, &l) != nil || !strings.Contains(l.Message, "ACME certificate") {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, l.Time)
		if err != nil {
			continue
		}
		for _, h := range l.Domains {
			out[h] = acmeFailure{at: at, reason: acmeReason(l.Error)}
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		t.log.Warn("read traefik log", "err", err)
	}
	return out
}

// acmeReason shortens lego's error to the CA's words.
func acmeReason(err string) string {
	err = strings.TrimSpace(err)
	if i := strings.LastIndex(err, "acme: error:"); i >= 0 {
		err = err[i:]
	} else if i := strings.LastIndex(err, "\n"); i >= 0 {
		err = err[i+1:]
	}
	return strings.TrimSuffix(strings.Join(strings.Fields(err), " "), "]")
}
