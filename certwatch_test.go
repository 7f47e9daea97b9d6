package nua_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/store"
)

// acmeRunner is a fakeRunner whose proxy serves HTTPS, with certificate
// states the test sets.
type acmeRunner struct {
	*fakeRunner
	mu     sync.Mutex
	states map[string]nua.CertStatus
}

func (r *acmeRunner) CertStatus(hosts []string) (map[string]nua.CertStatus, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]nua.CertStatus{}
	for _, h := range hosts {
		if st, ok := r.states[h]; ok {
			out[h] = st
		}
	}
	return out, true
}

func (r *acmeRunner) set(host string, st nua.CertStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states[host] = st
}

func (r *acmeRunner) eventLines() []string {
	r.fakeRunner.mu.Lock()
	defer r.fakeRunner.mu.Unlock()
	return slices.Clone(r.fakeRunner.events)
}

// TestWatchCerts records issued, renewed and failed certificates in the
// app's logs, once each.
func TestWatchCerts(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "nua.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	soon := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	given := nua.Cert{Host: "own.shop.test", File: "/x.pem", Issuer: "Own CA", NotAfter: soon}
	if err := db.PutApp(nua.App{Name: "shop", Domains: []string{"own.shop.test", "www.shop.test"}, Certs: []nua.Cert{given}}); err != nil {
		t.Fatal(err)
	}
	fr := &fakeRunner{running: map[string]map[string]group{}}
	r := &acmeRunner{fakeRunner: fr, states: map[string]nua.CertStatus{}}
	notices := &recorder{}
	p := nua.New(nua.Config{DataDir: t.TempDir(), Domain: "example.test", Store: db, Runner: r, Monitor: fr, Notifier: notices})
	if _, err := p.AddNotification("ops", "webhook", "https://hooks.example.org/", []string{"cert"}, "admin"); err != nil {
		t.Fatal(err)
	}
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.WatchCerts(ctx, tick); close(done) }()
	defer func() { cancel(); <-done }()
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []func(){
		func() {},
		func() {
			r.set("www.shop.test", nua.CertStatus{State: nua.CertIssued, Issuer: "Pebble", NotAfter: exp})
			r.set("shop.example.test", nua.CertStatus{State: nua.CertFailed, Reason: "acme: error: connection refused"})
		},
		func() {}, // nothing new
		func() {
			r.set("www.shop.test", nua.CertStatus{State: nua.CertIssued, Issuer: "Pebble", NotAfter: exp.Add(time.Hour)})
		},
	}
	for _, step := range steps {
		step()
		tick <- time.Now()
	}
	tick <- time.Now() // the last step is handled once this one is taken
	want := []string{
		"certs: certificate of www.shop.test issued by Pebble, expires 2030-01-01T00:00:00Z",
		"certs: certificate of shop.example.test failed: acme: error: connection refused (HTTP keeps serving)",
		"certs: certificate of www.shop.test renewed by Pebble, expires 2030-01-01T01:00:00Z",
		"certs: given certificate of own.shop.test expires " + soon.Format(time.RFC3339) + ": give a new one with certs:add",
	}
	got := r.eventLines()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The channels hear of the failure and the expiry, once each, not of
	// certificates issued for years.
	if err := p.WaitNotifications(ctx); err != nil {
		t.Fatal(err)
	}
	sent := notices.got()
	slices.Sort(sent)
	wantSent := []string{
		"ops cert shop ok=false: shop: certificate of shop.example.test failed: acme: error: connection refused (HTTP keeps serving)",
		"ops cert shop ok=false: shop: given certificate of own.shop.test expires " + soon.Format(time.RFC3339) + ": give a new one with certs:add",
	}
	if !slices.Equal(sent, wantSent) {
		t.Fatalf("notices:\n%s\nwant:\n%s", strings.Join(sent, "\n"), strings.Join(wantSent, "\n"))
	}
}
