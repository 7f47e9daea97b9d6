package proxy_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/proxy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMarshalGolden(t *testing.T) {
	tests := []struct {
		name  string
		route proxy.Route
	}{
		{"one-host-one-server", proxy.Route{
			App:     "myapp",
			Hosts:   []string{"myapp.localhost"},
			Servers: []string{"http://127.0.0.1:41234"},
		}},
		{"custom-domains-two-servers", proxy.Route{
			App:     "shop-2",
			Hosts:   []string{"shop-2.example.org", "www.example.org", "example.org"},
			Servers: []string{"http://127.0.0.1:41234", "http://127.0.0.1:41235"},
		}},
		{"ipv6-and-named-server", proxy.Route{
			App:     "a",
			Hosts:   []string{"a.localhost"},
			Servers: []string{"http://[::1]:5000", "http://web-1.internal:5001"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := proxy.Marshal(tt.route)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			checkGolden(t, tt.name, got)
		})
	}
}

func TestStaticConfigGolden(t *testing.T) {
	got, err := proxy.StaticYAML("127.0.0.1:8080", "127.0.0.1:41000", "/var/lib/nua/traefik/dynamic")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "static", got)
}

// checkGolden compares got with testdata/NAME.golden, or rewrites that
// file under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (go test ./proxy -update writes it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got\n%s\nwant\n%s", golden, got, want)
	}
}

func TestRouteValidate(t *testing.T) {
	ok := proxy.Route{App: "web", Hosts: []string{"web.localhost"}, Servers: []string{"http://127.0.0.1:5000"}}
	tests := []struct {
		name    string
		edit    func(r *proxy.Route)
		wantErr string // empty: valid
	}{
		{"valid", func(r *proxy.Route) {}, ""},
		{"app 63 chars", func(r *proxy.Route) { r.App = "a" + strings.Repeat("b", 62) }, ""},
		{"host single label", func(r *proxy.Route) { r.Hosts = []string{"localhost"} }, ""},
		{"host punycode", func(r *proxy.Route) { r.Hosts = []string{"xn--bcher-kva.example"} }, ""},
		{"server hostname", func(r *proxy.Route) { r.Servers = []string{"http://backend:80"} }, ""},
		{"server ipv6", func(r *proxy.Route) { r.Servers = []string{"http://[::1]:5000"} }, ""},

		{"app empty", func(r *proxy.Route) { r.App = "" }, "app name"},
		{"app uppercase", func(r *proxy.Route) { r.App = "Web" }, "app name"},
		{"app leading digit", func(r *proxy.Route) { r.App = "1web" }, "app name"},
		{"app 64 chars", func(r *proxy.Route) { r.App = "a" + strings.Repeat("b", 63) }, "app name"},
		{"app path", func(r *proxy.Route) { r.App = "../etc" }, "app name"},
		{"app dot", func(r *proxy.Route) { r.App = "a.b" }, "app name"},
		{"app trailing dash", func(r *proxy.Route) { r.App = "web-" }, "app name"},
		{"app newline", func(r *proxy.Route) { r.App = "web\n" }, "app name"},
		{"no hosts", func(r *proxy.Route) { r.Hosts = nil }, "no hosts"},
		{"host empty", func(r *proxy.Route) { r.Hosts = []string{""} }, "host"},
		{"host backtick", func(r *proxy.Route) { r.Hosts = []string{"a`) || Host(`b"} }, "host"},
		{"host uppercase", func(r *proxy.Route) { r.Hosts = []string{"Web.localhost"} }, "host"},
		{"host wildcard not first", func(r *proxy.Route) { r.Hosts = []string{"www.*.example.org"} }, "host"},
		{"host wildcard of a top-level domain", func(r *proxy.Route) { r.Hosts = []string{"*.org"} }, "host"},
		{"host trailing dot", func(r *proxy.Route) { r.Hosts = []string{"example.org."} }, "host"},
		{"host label hyphen", func(r *proxy.Route) { r.Hosts = []string{"-a.example.org"} }, "host"},
		{"host with port", func(r *proxy.Route) { r.Hosts = []string{"example.org:80"} }, "host"},
		{"host label 64", func(r *proxy.Route) { r.Hosts = []string{strings.Repeat("a", 64) + ".org"} }, "host"},
		{"host too long", func(r *proxy.Route) { r.Hosts = []string{strings.Repeat("a.", 127) + "org"} }, "host"},
		{"host twice", func(r *proxy.Route) { r.Hosts = []string{"a.org", "a.org"} }, "twice"},
		{"no servers", func(r *proxy.Route) { r.Servers = nil }, "no servers"},
		{"server https", func(r *proxy.Route) { r.Servers = []string{"https://127.0.0.1:5000"} }, "server"},
		{"server no port", func(r *proxy.Route) { r.Servers = []string{"http://127.0.0.1"} }, "server"},
		{"server port 0", func(r *proxy.Route) { r.Servers = []string{"http://127.0.0.1:0"} }, "port"},
		{"server port big", func(r *proxy.Route) { r.Servers = []string{"http://127.0.0.1:65536"} }, "port"},
		{"server path", func(r *proxy.Route) { r.Servers = []string{"http://127.0.0.1:5000/x"} }, "server"},
		{"server slash", func(r *proxy.Route) { r.Servers = []string{"http://127.0.0.1:5000/"} }, "server"},
		{"server query", func(r *proxy.Route) { r.Servers = []string{"http://127.0.0.1:5000?a=b"} }, "server"},
		{"server user", func(r *proxy.Route) { r.Servers = []string{"http://u:p@127.0.0.1:5000"} }, "server"},
		{"server not url", func(r *proxy.Route) { r.Servers = []string{"127.0.0.1:5000"} }, "server"},
		{"server bad host", func(r *proxy.Route) { r.Servers = []string{"http://a_b:5000"} }, "server"},
		{"server yaml", func(r *proxy.Route) { r.Servers = []string{"http://a:1\n  evil: x"} }, "server"},
		{"server twice", func(r *proxy.Route) { r.Servers = []string{"http://a:1", "http://a:1"} }, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			r.Hosts = append([]string(nil), ok.Hosts...)
			r.Servers = append([]string(nil), ok.Servers...)
			tt.edit(&r)
			err := r.Validate()
			_, merr := proxy.Marshal(r)
			if tt.wantErr == "" {
				if err != nil || merr != nil {
					t.Fatalf("Validate()=%v, Marshal err=%v, want nil", err, merr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate()=%v, want an error containing %q", err, tt.wantErr)
			}
			if !errors.Is(err, proxy.ErrInvalidRoute) {
				t.Errorf("Validate()=%v, want errors.Is ErrInvalidRoute", err)
			}
			if merr == nil {
				t.Errorf("Marshal accepted a route Validate refuses")
			}
		})
	}
}
