package proxy_test

import (
	"testing"

	"github.com/nua-paas/nua/proxy"
)

func TestRenderTLSGolden(t *testing.T) {
	route := proxy.Route{
		App:      "shop",
		Hosts:    []string{"shop.example.org", "www.example.org", "*.example.net", "own.example.org"},
		Servers:  []string{"http://127.0.0.1:41234"},
		Redirect: true,
		Certs:    []proxy.Cert{{Host: "own.example.org", File: "/var/lib/nua/certs/shop/own.example.org.pem"}},
	}
	issued := map[string]bool{"www.example.org": true}
	tests := []struct {
		name  string
		route func() proxy.Route
		port  int
	}{
		{"tls-redirect-some", func() proxy.Route { return route }, 8443},
		{"tls-redirect-off", func() proxy.Route { r := route; r.Redirect = false; return r }, 443},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := proxy.RenderTLS(tt.route(), tt.port, func(h string) bool { return issued[h] })
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, got)
		})
	}
}

func TestStaticConfigHTTPSGolden(t *testing.T) {
	for _, tt := range []struct {
		name  string
		https proxy.HTTPS
	}{
		{"static-https", proxy.HTTPS{Addr: ":443", Email: "ops@example.org", CA: "https://127.0.0.1:14000/dir", CertHours: 1}},
		{"static-https-dns", proxy.HTTPS{Addr: ":443", Email: "ops@example.org", Challenge: proxy.ChallengeDNS, DNSProvider: "cloudflare"}},
		{"static-https-dns-resolvers", proxy.HTTPS{Addr: ":443", Email: "ops@example.org", Challenge: proxy.ChallengeDNS, DNSProvider: "exec", DNSResolvers: []string{"127.0.0.1:8053"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.https.Validate(); err != nil {
				t.Fatal(err)
			}
			got, err := proxy.StaticYAMLFor("127.0.0.1:8080", "127.0.0.1:41000", "/var/lib/nua/traefik/dynamic", &tt.https, "/var/lib/nua/traefik/acme/acme.json")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, got)
		})
	}
}

func TestHTTPSValidate(t *testing.T) {
	good := proxy.HTTPS{Addr: ":443", Email: "ops@example.org"}
	for _, tt := range []struct {
		name string
		edit func(*proxy.HTTPS)
	}{
		{"bad addr", func(h *proxy.HTTPS) { h.Addr = "443" }},
		{"no email", func(h *proxy.HTTPS) { h.Email = "" }},
		{"bad email", func(h *proxy.HTTPS) { h.Email = "Ops <ops@example.org>" }},
		{"http ca", func(h *proxy.HTTPS) { h.CA = "http://ca.example/dir" }},
		{"missing roots", func(h *proxy.HTTPS) { h.CARoots = "/nonexistent/roots.pem" }},
		{"dns without provider", func(h *proxy.HTTPS) { h.Challenge = proxy.ChallengeDNS }},
		{"provider without dns", func(h *proxy.HTTPS) { h.DNSProvider = "cloudflare" }},
		{"unknown challenge", func(h *proxy.HTTPS) { h.Challenge = "carrier-pigeon" }},
		{"negative lifetime", func(h *proxy.HTTPS) { h.CertHours = -1 }},
		{"resolvers without dns", func(h *proxy.HTTPS) { h.DNSResolvers = []string{"127.0.0.1:53"} }},
		{"bad resolver", func(h *proxy.HTTPS) {
			h.Challenge, h.DNSProvider, h.DNSResolvers = proxy.ChallengeDNS, "exec", []string{"127.0.0.1"}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := good
			tt.edit(&h)
			if err := h.Validate(); err == nil {
				t.Fatalf("Validate() of %+v = nil, want an error", h)
			}
		})
	}
}
