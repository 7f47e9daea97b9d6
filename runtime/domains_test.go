package runtime_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/proxy"
)

// TestReroute changes a running app's hosts, redirect and certificates:
// the route changes, its servers and the instances stay.
func TestReroute(t *testing.T) {
	r := newRig(t)
	var mu sync.Mutex
	var last proxy.Route
	r.router.setRoute = func(rt proxy.Route) error {
		mu.Lock()
		defer mu.Unlock()
		last = rt
		return nil
	}
	app := nua.App{Name: "shop"}
	if err := r.rt.Reroute(t.Context(), app); err != nil {
		t.Fatalf("Reroute of an app that does not run: %v", err)
	}
	if err := r.rt.Launch(t.Context(), app, r.release(t, 1, webWorker), ""); err != nil {
		t.Fatal(err)
	}
	before, servers := r.pids(), r.router.servers("shop")
	app.Domains = []string{"*.shop.test", "www.shop.test"}
	app.NoRedirect = true
	app.Certs = []nua.Cert{{Host: "www.shop.test", File: "/data/certs/shop/www.shop.test.pem"}}
	if err := r.rt.Reroute(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := last
	mu.Unlock()
	if want := []string{"shop.example.test", "*.shop.test", "www.shop.test"}; !slices.Equal(got.Hosts, want) {
		t.Errorf("route hosts %q, want %q", got.Hosts, want)
	}
	if got.Redirect || len(got.Certs) != 1 || got.Certs[0].File != "/data/certs/shop/www.shop.test.pem" {
		t.Errorf("route %+v, want no redirect and the given certificate", got)
	}
	if !slices.Equal(got.Servers, servers) {
		t.Errorf("route servers %q, want %q", got.Servers, servers)
	}
	if after := r.pids(); after["web.1"] != before["web.1"] {
		t.Errorf("Reroute restarted web.1 (pid %d, then %d)", before["web.1"], after["web.1"])
	}
}
