package commands_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/store"
)

// quietMonitor is a Monitor of apps that run nothing.
type quietMonitor struct{}

func (quietMonitor) Ps(string) []nua.ProcessStatus { return nil }
func (quietMonitor) Logs(context.Context, string, nua.LogOptions, io.Writer) error {
	return nil
}
func (quietMonitor) Event(app, source, msg string) {}
func (quietMonitor) Output(app, name string) (io.WriteCloser, error) {
	return nil, io.ErrClosedPipe
}
func (quietMonitor) Limits(nua.App, string) nua.Limits { return nua.Limits{} }
func (quietMonitor) Sandboxed() (bool, string)         { return false, "off" }

// domainsPlatform is a Platform on a real store with apps shop and other,
// neither deployed.
func domainsPlatform(tb testing.TB) *nua.Platform {
	db, err := store.Open(filepath.Join(tb.TempDir(), "nua.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, app := range []string{"shop", "other"} {
		if err := db.PutApp(nua.App{Name: app}); err != nil {
			tb.Fatal(err)
		}
	}
	return nua.New(nua.Config{DataDir: tb.TempDir(), Domain: "example.test", Store: db, Monitor: quietMonitor{}})
}

func runAs(p *nua.Platform, stdin string, args ...string) (string, int) {
	var out bytes.Buffer
	o := commands.Options{
		Door: commands.SSH, Platform: p, Who: nua.Identity{User: nua.AdminUser, Admin: true, Door: nua.DoorSSH},
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out,
	}
	code := commands.Run(context.Background(), o, args)
	return out.String(), code
}

func TestDomainCommands(t *testing.T) {
	p := domainsPlatform(t)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"domains:add", "shop", "www.shop.test", "Bücher.test"}, 0, "Added www.shop.test, xn--bcher-kva.test to shop"},
		{[]string{"domains", "shop"}, 0, "shop.example.test (the app's own)\nwww.shop.test\nxn--bcher-kva.test\nRedirect HTTP to HTTPS: on"},
		{[]string{"domains:add", "other", "www.shop.test"}, 2, "belongs to app shop"},
		{[]string{"domains:add", "shop"}, 2, "usage: nua domains:add APP HOST..."},
		{[]string{"domains:add", "shop", "1.2.3.4"}, 2, "IP address"},
		{[]string{"domains:redirect", "shop", "maybe"}, 2, "on|off"},
		{[]string{"domains:redirect", "shop", "off"}, 0, "Redirect of shop to HTTPS: off"},
		{[]string{"certs", "shop"}, 0, "www.shop.test       off"},
		{[]string{"certs:add", "shop"}, 2, "no PEM CERTIFICATE"},
		{[]string{"certs:remove", "shop", "www.shop.test"}, 1, "no certificate given"},
		{[]string{"domains:remove", "shop", "nope.test"}, 1, "not a domain of shop"},
		{[]string{"domains:remove", "shop", "WWW.shop.test"}, 0, "Removed"},
		{[]string{"domains:clear", "shop"}, 0, "Cleared 1 custom host(s) of shop"},
		{[]string{"apps:info", "shop"}, 0, "HTTPS:    shop.example.test off"},
	} {
		out, code := runAs(p, "", tt.args...)
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("%s: exit %d, want %d with %q:\n%s", strings.Join(tt.args, " "), code, tt.code, tt.want, out)
		}
	}
}

// FuzzDomainsAdd adds fuzzed hosts through the command door: a host is
// added in its normal form or refused with nothing changed, and no host
// ever belongs to two apps.
func FuzzDomainsAdd(f *testing.F) {
	for _, s := range []string{"www.example.org", "*.example.org", "Bücher.example", "xn--bcher-kva.example", "1.2.3.4",
		"a..b", "a.b.", "_x.example.org", "shop.example.test", "other.example.test", "-a.example", "a.*.b", "ex ample.org", "EXAMPLE.org"} {
		f.Add("shop", s)
		f.Add("other", s)
	}
	p := domainsPlatform(f)
	f.Fuzz(func(t *testing.T, app, host string) {
		if app != "shop" && app != "other" {
			app = "shop"
		}
		before, _ := p.Domains(app)
		out, code := runAs(p, "", "domains:add", app, host)
		after, err := p.Domains(app)
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 && !slices.Equal(before, after) {
			t.Fatalf("refused domains:add %q (%s) changed %v to %v", host, out, before, after)
		}
		if !slices.IsSorted(after) || len(slices.Compact(slices.Clone(after))) != len(after) {
			t.Fatalf("domains %v: not sorted or duplicated", after)
		}
		for _, d := range after {
			if n, err := nua.NormalizeHost(d); err != nil || n != d {
				t.Fatalf("stored host %q is not normal: %q, %v", d, n, err)
			}
		}
		shop, _ := p.Domains("shop")
		other, _ := p.Domains("other")
		for _, d := range shop {
			if slices.Contains(other, d) {
				t.Fatalf("host %q belongs to both apps", d)
			}
		}
		if len(after) > 20 {
			runAs(p, "", "domains:clear", app)
		}
	})
}

func TestDoctorDomains(t *testing.T) {
	p := domainsPlatform(t)
	if out, code := runAs(p, "", "domains:add", "shop", "localhost.localdomain", "nowhere.invalid"); code != 0 {
		t.Fatalf("domains:add: exit %d\n%s", code, out)
	}
	out, code := runAs(p, "", "doctor")
	for _, want := range []string{"-----> Domains and HTTPS", "HTTPS not served", "nowhere.invalid (shop): does not resolve"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("doctor: exit %d, lacks %q:\n%s", code, want, out)
		}
	}
}
