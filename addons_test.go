package nua_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
)

// createAddon makes an addon for app and fails the test if that fails.
func (r *rig) createAddon(t *testing.T, app, kind, name, as string) nua.Addon {
	t.Helper()
	a, err := r.p.CreateAddon(t.Context(), nua.AddonRequest{App: app, Kind: kind, Name: name, As: as, By: "tester"}, io.Discard)
	if err != nil {
		t.Fatalf("CreateAddon(%s %s): %v", app, kind, err)
	}
	return a
}

func TestCreateAddonAttachesOnANewRelease(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	var out bytes.Buffer
	a, err := r.p.CreateAddon(t.Context(), nua.AddonRequest{App: "shop", Kind: "heroku-postgresql:mini", By: "tester"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != "postgres" || !strings.HasPrefix(a.Name, "postgres-") {
		t.Fatalf("addon %+v, want a postgres one named postgres-...", a)
	}
	rel := r.release(t, "shop", 2)
	if got := rel.Config["DATABASE_URL"]; got != a.URL {
		t.Fatalf("v2 DATABASE_URL = %q, want the addon's URL %q", got, a.URL)
	}
	if got := r.runner.state("shop")["web"].Release; got != 2 {
		t.Fatalf("web runs v%d, want v2", got)
	}
	if !strings.Contains(out.String(), "attached to shop as DATABASE_URL") {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestCreateAddonBeforeTheFirstDeploy(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.createAddon(t, "shop", "redis", "cache", "")
	if got := r.app(t, "shop").Config["REDIS_URL"]; got == "" {
		t.Fatal("REDIS_URL not in the config of an app with no release")
	}
	r.mustDeploy(t, "shop", "aaaaaaa1")
	if got := r.release(t, "shop", 1).Config["REDIS_URL"]; got == "" {
		t.Fatal("the first release lacks REDIS_URL")
	}
}

// TestAddonFailuresLeaveNothing breaks each step of addons:create and
// checks no addon, record or release is left half-made.
func TestAddonFailuresLeaveNothing(t *testing.T) {
	tests := []struct {
		name      string
		req       nua.AddonRequest
		breakStep func(r *rig)
		want      error
	}{
		{"unknown kind", nua.AddonRequest{App: "shop", Kind: "oracle"}, nil, nua.ErrInvalid},
		{"bad name", nua.AddonRequest{App: "shop", Kind: "redis", Name: "Bad"}, nil, nua.ErrInvalid},
		{"bad attachment", nua.AddonRequest{App: "shop", Kind: "redis", As: "db"}, nil, nua.ErrInvalid},
		{"name taken", nua.AddonRequest{App: "shop", Kind: "redis", Name: "main-db"}, nil, nua.ErrExists},
		{"var taken", nua.AddonRequest{App: "shop", Kind: "postgres"}, nil, nua.ErrInvalid},
		{"no app", nua.AddonRequest{App: "nope", Kind: "redis"}, nil, nua.ErrNotFound},
		{"provision fails", nua.AddonRequest{App: "shop", Kind: "redis"}, func(r *rig) {
			r.addons.provision = func(kind, name string) error { return errKnob }
		}, errKnob},
		{"the new release fails", nua.AddonRequest{App: "shop", Kind: "redis"}, func(r *rig) {
			r.runner.launch = func(nua.App, nua.Release, string) error { return errKnob }
		}, errKnob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, 5)
			r.mustApp(t, "shop")
			r.mustDeploy(t, "shop", "aaaaaaa1")
			r.createAddon(t, "shop", "postgres", "main-db", "")
			if tt.breakStep != nil {
				tt.breakStep(r)
			}
			_, err := r.p.CreateAddon(t.Context(), tt.req, io.Discard)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CreateAddon = %v, want %v", err, tt.want)
			}
			if got := r.addons.names(); !slices.Equal(got, []string{"main-db"}) {
				t.Errorf("addons on the servers: %q, want main-db alone", got)
			}
			if list, _ := r.p.Addons(""); len(list) != 1 {
				t.Errorf("addon records: %+v, want main-db alone", list)
			}
			if cfg := r.app(t, "shop").Config; len(cfg) != 1 {
				t.Errorf("config %v, want DATABASE_URL alone", cfg)
			}
		})
	}
}

func TestAddonVarsAreGuarded(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	r.createAddon(t, "shop", "postgres", "main-db", "")
	for _, tt := range []struct {
		set   map[string]string
		unset []string
	}{{nil, []string{"DATABASE_URL"}}, {map[string]string{"DATABASE_URL": "x"}, nil}} {
		err := r.p.SetConfig(t.Context(), "shop", tt.set, tt.unset, "tester", io.Discard)
		if !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), "addons:detach main-db shop") {
			t.Errorf("SetConfig(%v, %v) = %v, want a refusal naming addons:detach", tt.set, tt.unset, err)
		}
	}
	if err := r.p.SetConfig(t.Context(), "shop", map[string]string{"OTHER": "1"}, nil, "tester", io.Discard); err != nil {
		t.Fatalf("an unrelated var: %v", err)
	}
}

func TestAttachDetachDestroy(t *testing.T) {
	r := newRig(t, 5)
	for _, app := range []string{"shop", "admin"} {
		r.mustApp(t, app)
		r.mustDeploy(t, app, "aaaaaaa1")
	}
	a := r.createAddon(t, "shop", "postgres", "main-db", "")
	if err := r.p.AttachAddon(t.Context(), "main-db", "admin", "SHOP_DB", "tester", io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := r.app(t, "admin").Config["SHOP_DB_URL"]; got != a.URL {
		t.Fatalf("admin SHOP_DB_URL = %q", got)
	}
	if err := r.p.AttachAddon(t.Context(), "main-db", "admin", "", "tester", io.Discard); !errors.Is(err, nua.ErrInvalid) {
		t.Fatalf("attaching twice = %v, want ErrInvalid", err)
	}
	if err := r.p.DestroyAddon(t.Context(), "main-db", "tester", io.Discard); err == nil || !strings.Contains(err.Error(), "attached to admin too") {
		t.Fatalf("destroying an addon attached elsewhere = %v", err)
	}
	if err := r.p.DestroyApp(t.Context(), "shop", io.Discard); err == nil || !strings.Contains(err.Error(), "attached to admin too") {
		t.Fatalf("destroying the app of an addon attached elsewhere = %v", err)
	}
	if err := r.p.DetachAddon(t.Context(), "main-db", "shop", "tester", io.Discard); err == nil || !strings.Contains(err.Error(), "addons:destroy") {
		t.Fatalf("detaching from its own app = %v", err)
	}
	if err := r.p.DetachAddon(t.Context(), "main-db", "admin", "tester", io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.app(t, "admin").Config["SHOP_DB_URL"]; ok {
		t.Fatal("SHOP_DB_URL still set after detach")
	}
	var out bytes.Buffer
	if err := r.p.DestroyAddon(t.Context(), "main-db", "tester", &out); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.app(t, "shop").Config["DATABASE_URL"]; ok || len(r.addons.names()) != 0 {
		t.Fatalf("after destroy: config %v, servers %v", r.app(t, "shop").Config, r.addons.names())
	}
}

func TestDestroyAppDestroysItsAddons(t *testing.T) {
	r := newRig(t, 5)
	for _, app := range []string{"shop", "admin"} {
		r.mustApp(t, app)
		r.mustDeploy(t, app, "aaaaaaa1")
	}
	r.createAddon(t, "shop", "redis", "shop-cache", "")
	r.createAddon(t, "admin", "postgres", "admin-db", "")
	if err := r.p.AttachAddon(t.Context(), "admin-db", "shop", "ADMIN", "tester", io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := r.p.DestroyApp(t.Context(), "shop", &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Destroyed addon shop-cache", "Detached addon admin-db of admin"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if got := r.addons.names(); !slices.Equal(got, []string{"admin-db"}) {
		t.Fatalf("servers keep %q, want admin-db alone", got)
	}
	a, err := r.p.AddonInfo("admin-db")
	if err != nil || len(a.Attachments) != 1 || a.Attachments[0].App != "admin" {
		t.Fatalf("admin-db = %+v, %v: want attached to admin alone", a, err)
	}
}

func TestAppJSONAddonsOnTheFirstDeploy(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	manifest := map[string]string{"app.json": `{"addons": ["heroku-postgresql", {"plan": "heroku-redis:mini", "as": "CACHE"}]}`}
	// A first deploy that fails leaves no addon.
	r.runner.launch = func(nua.App, nua.Release, string) error { return errKnob }
	if _, err := r.deploy(t, "shop", "aaaaaaa1", manifest); err == nil {
		t.Fatal("the broken deploy succeeded")
	}
	if got := r.addons.names(); len(got) != 0 {
		t.Fatalf("a failed first deploy left addons %q", got)
	}
	r.runner.launch = nil
	out, err := r.deploy(t, "shop", "aaaaaaa2", manifest)
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	cfg := r.app(t, "shop").Config
	if !strings.HasPrefix(cfg["DATABASE_URL"], "postgres://") || !strings.HasPrefix(cfg["CACHE_URL"], "redis://") {
		t.Fatalf("config after the first deploy: %v", cfg)
	}
	if _, err := r.deploy(t, "shop", "aaaaaaa3", manifest); err != nil {
		t.Fatal(err)
	}
	if got := r.addons.names(); len(got) != 2 {
		t.Fatalf("a later deploy made addons again: %q", got)
	}
}

func TestParseAddonKind(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"postgres", "postgres"}, {"heroku-postgresql:essential-0", "postgres"}, {"pg", "postgres"},
		{"heroku-redis", "redis"}, {"redis", "redis"}, {"mariadb", "mariadb"}, {"jawsdb-maria:kitefin", "mariadb"},
		{"mysql", "mariadb"}, {"oracle", ""}, {"", ""}, {"Postgres", ""},
	} {
		k, err := nua.ParseAddonKind(tt.in)
		if k.Name != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("ParseAddonKind(%q) = %q, %v; want %q", tt.in, k.Name, err, tt.want)
		}
	}
}

// TestRollbackKeepsAttachments: rolling back to a release from before an
// addon was attached keeps its var, which only addons:detach removes.
func TestRollbackKeepsAttachments(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	a := r.createAddon(t, "shop", "postgres", "main-db", "")
	if err := r.p.Rollback(t.Context(), "shop", 1, "tester", io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := r.app(t, "shop").Config["DATABASE_URL"]; got != a.URL {
		t.Fatalf("DATABASE_URL after a rollback to v1 = %q, want the attached addon's", got)
	}
}
