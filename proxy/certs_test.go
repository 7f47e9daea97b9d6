package proxy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/proxy"
)

// TestCertStates reads issued certificates from acme.json and the CA's
// reasons from Traefik's JSON log, as Traefik writes them.
func TestCertStates(t *testing.T) {
	dir := t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	notAfter := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "www.example.org"},
		Issuer: pkix.Name{CommonName: "Pebble Intermediate CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		DNSNames: []string{"www.example.org"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	store := map[string]any{"acme": map[string]any{
		"Account": map[string]any{"Email": "ops@example.org"},
		"Certificates": []map[string]any{{
			"domain":      map[string]any{"main": "www.example.org"},
			"certificate": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			"key":         []byte("not read"),
			"Store":       "default",
		}},
	}}
	data, _ := json.Marshal(store)
	if err := os.MkdirAll(filepath.Join(dir, "acme"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acme", "acme.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	logLines := []string{
		`{"level":"error","error":"some other error","time":"2026-01-01T00:00:00Z","message":"Something else"}`,
		`{"level":"error","providerName":"acme.acme","domains":["bad.example.org"],"error":"unable to generate a certificate for the domains [bad.example.org]: error: one or more domains had a problem:\n[bad.example.org] acme: error: 400 :: urn:ietf:params:acme:error:connection :: connection refused","time":"` + time.Now().UTC().Format(time.RFC3339) + `","message":"Unable to obtain ACME certificate for domains"}`,
		`not json`,
	}
	logFile := filepath.Join(dir, "traefik.log")
	if err := os.WriteFile(logFile, []byte(strings.Join(logLines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := proxy.New(proxy.Config{Dir: dir, LogFile: logFile, HTTPS: &proxy.HTTPS{Addr: ":443", Email: "ops@example.org"}})
	got, https := tr.CertStates([]string{"www.example.org", "bad.example.org", "new.example.org"})
	if !https {
		t.Fatal("CertStates says no HTTPS")
	}
	if w := got["www.example.org"]; !w.Issued || w.Issuer != "www.example.org" || !w.NotAfter.Equal(notAfter) {
		t.Errorf("www.example.org: %+v, want issued, expiring %v", w, notAfter)
	}
	if b := got["bad.example.org"]; b.Issued || !strings.HasPrefix(b.Failure, "acme: error: 400 :: urn:ietf:params:acme:error:connection") {
		t.Errorf("bad.example.org: %+v, want the CA's reason", b)
	}
	if n := got["new.example.org"]; n.Issued || n.Failure != "" {
		t.Errorf("new.example.org: %+v, want pending", n)
	}
	if _, https := proxy.New(proxy.Config{Dir: dir}).CertStates([]string{"www.example.org"}); https {
		t.Error("CertStates of a Traefik with no HTTPS says HTTPS")
	}
}
