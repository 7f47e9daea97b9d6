package nua_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{name: "plain", in: "www.example.org", want: "www.example.org"},
		{name: "upper case", in: "WWW.Example.ORG", want: "www.example.org"},
		{name: "unicode", in: "bücher.example", want: "xn--bcher-kva.example"},
		{name: "punycode kept", in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
		{name: "wildcard", in: "*.example.org", want: "*.example.org"},
		{name: "empty", in: "", err: "empty"},
		{name: "ipv4", in: "192.168.1.1", err: "IP address"},
		{name: "ipv6", in: "::1", err: "bare host"},
		{name: "numeric tld", in: "example.123", err: "IP address"},
		{name: "trailing dot", in: "example.org.", err: "trailing dot"},
		{name: "double dot", in: "a..example.org", err: "empty label"},
		{name: "leading dot", in: ".example.org", err: "empty label"},
		{name: "underscore", in: "_dmarc.example.org", err: "underscores"},
		{name: "too long", in: strings.Repeat("abcdefghi.", 26) + "org", err: "253"},
		{name: "long label", in: strings.Repeat("a", 64) + ".org", err: "label"},
		{name: "dash at start", in: "-a.example.org", err: "label"},
		{name: "single label", in: "localhost", err: "fully qualified"},
		{name: "wildcard inside", in: "a.*.example.org", err: "wildcard"},
		{name: "wildcard of a tld", in: "*.org", err: "fully qualified"},
		{name: "port", in: "example.org:8080", err: "bare host"},
		{name: "scheme", in: "https://example.org", err: "bare host"},
		{name: "space", in: "exa mple.org", err: "bare host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nua.NormalizeHost(tt.in)
			if tt.err != "" {
				if err == nil || !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("NormalizeHost(%q)=%q, %v, want an ErrInvalid with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeHost(%q)=%q, %v, want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestAddDomainsOneAppPerHost(t *testing.T) {
	r := newRig(t, 5)
	ctx := context.Background()
	admin := nua.Identity{User: nua.AdminUser, Admin: true}
	r.mustApp(t, "shop")
	r.mustApp(t, "other")
	added, err := r.p.AddDomains(ctx, "shop", []string{"www.shop.test", "WWW.shop.test", "*.shop.test"}, admin)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"www.shop.test", "*.shop.test"}; !slices.Equal(added, want) {
		t.Fatalf("AddDomains added %v, want %v", added, want)
	}
	_, err = r.p.AddDomains(ctx, "other", []string{"new.other.test", "www.shop.test"}, admin)
	if err == nil || !strings.Contains(err.Error(), "belongs to app shop") {
		t.Fatalf("AddDomains of shop's host to other by an admin: %v, want the owner named", err)
	}
	_, err = r.p.AddDomains(ctx, "other", []string{"www.shop.test"}, nua.Identity{User: "mallory"})
	if err == nil || strings.Contains(err.Error(), "app shop") {
		t.Fatalf("AddDomains of shop's host by a stranger: %v, want an error not naming shop", err)
	}
	if got := r.app(t, "other").Domains; len(got) != 0 {
		t.Fatalf("a refused AddDomains left %v", got)
	}
	for _, host := range []string{"other.example.test", "shop.example.test", "*.example.test", "example.test", "dash.example.org"} {
		if _, err := r.p.AddDomains(ctx, "shop", []string{host}, admin); !errors.Is(err, nua.ErrInvalid) {
			t.Errorf("AddDomains(%s): %v, want ErrInvalid: the apps' own addresses and the dashboard's", host, err)
		}
	}
	if err := r.p.RemoveDomain(ctx, "shop", "www.shop.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.AddDomains(ctx, "other", []string{"www.shop.test"}, admin); err != nil {
		t.Fatalf("AddDomains of a removed host: %v", err)
	}
	if err := r.p.RemoveDomain(ctx, "shop", "nope.test"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("RemoveDomain of a host the app lacks: %v, want ErrNotFound", err)
	}
	old, err := r.p.ClearDomains(ctx, "shop")
	if err != nil || !slices.Equal(old, []string{"*.shop.test"}) {
		t.Fatalf("ClearDomains=%v, %v", old, err)
	}
}

// selfSigned returns a PEM bundle (key, certificate) for hosts valid
// from notBefore to notAfter.
func selfSigned(t *testing.T, hosts []string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: hosts}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(k)
	return append(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
}

func TestAddCert(t *testing.T) {
	r := newRig(t, 5)
	ctx := context.Background()
	r.mustApp(t, "shop")
	if _, err := r.p.AddDomains(ctx, "shop", []string{"www.shop.test", "*.shop.test"}, nua.Identity{Admin: true}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good := selfSigned(t, []string{"www.shop.test", "*.shop.test"}, now.Add(-time.Hour), now.Add(time.Hour))
	other := selfSigned(t, []string{"x.test"}, now.Add(-time.Hour), now.Add(time.Hour))
	goodKey := good[:strings.Index(string(good), "-----BEGIN CERTIFICATE")]
	otherCert := other[strings.Index(string(other), "-----BEGIN CERTIFICATE"):]
	bad := []struct{ name, bundle, err string }{
		{"garbage", "hello", "no PEM CERTIFICATE"},
		{"no key", string(otherCert), "no PEM PRIVATE KEY"},
		{"key mismatch", string(goodKey) + string(otherCert), "does not match"},
		{"expired", string(selfSigned(t, []string{"www.shop.test"}, now.Add(-2*time.Hour), now.Add(-time.Hour))), "expired"},
		{"not yet valid", string(selfSigned(t, []string{"www.shop.test"}, now.Add(time.Hour), now.Add(2*time.Hour))), "not valid before"},
		{"other host", string(other), "covers none"},
	}
	for _, tt := range bad {
		if _, err := r.p.AddCert(ctx, "shop", []byte(tt.bundle)); !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("AddCert %s: %v, want ErrInvalid with %q", tt.name, err, tt.err)
		}
	}
	if got := r.app(t, "shop").Certs; len(got) != 0 {
		t.Fatalf("refused bundles left certificates: %v", got)
	}
	hosts, err := r.p.AddCert(ctx, "shop", good)
	if err != nil || !slices.Equal(hosts, []string{"*.shop.test", "www.shop.test"}) {
		t.Fatalf("AddCert=%v, %v, want both hosts", hosts, err)
	}
	certs := r.app(t, "shop").Certs
	for _, c := range certs {
		fi, err := os.Stat(c.File)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("certificate file %s: %v, mode %v, want 0600", c.File, err, fi.Mode())
		}
	}
	st, err := r.p.Certs("shop")
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, s := range st {
		states[s.Host] = s.State
	}
	if states["www.shop.test"] != nua.CertCustom || states["shop.example.test"] != nua.CertOff {
		t.Fatalf("Certs=%v", states)
	}
	if err := r.p.RemoveDomain(ctx, "shop", "www.shop.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(certs[1].File); !os.IsNotExist(err) {
		t.Fatalf("the removed host's certificate file is still there: %v", err)
	}
	if err := r.p.RemoveCert(ctx, "shop", "*.shop.test"); err != nil {
		t.Fatal(err)
	}
	if err := r.p.RemoveCert(ctx, "shop", "*.shop.test"); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("RemoveCert twice: %v, want ErrNotFound", err)
	}
}
