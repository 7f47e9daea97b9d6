package nua_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
)

// history deploys v1 and v2, fails v3 at launch and sets a config var
// as v4: the app runs v4, on slug 2.
func history(t *testing.T, keepSlugs int) *rig {
	t.Helper()
	r := newRig(t, keepSlugs)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	r.mustDeploy(t, "shop", "aaaaaaa2")
	r.runner.launch = func(nua.App, nua.Release, string) error { return errKnob }
	if _, err := r.deploy(t, "shop", "aaaaaaa3", nil); err == nil {
		t.Fatal("broken deploy of v3 worked")
	}
	r.runner.launch = nil
	if err := r.p.SetConfig(t.Context(), "shop", map[string]string{"A": "1"}, nil, "tester", nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"v1 succeeded slug=1", "v2 succeeded slug=2", "v3 failed slug=3", "v4 succeeded slug=2"}
	if got := r.releases(t, "shop"); !slices.Equal(got, want) {
		t.Fatalf("history %q, want %q", got, want)
	}
	r.runner.takeCalls()
	return r
}

func TestRollback(t *testing.T) {
	tests := []struct {
		name    string
		version int
		// the release it makes, the slug that runs and the config it has
		wantSlug   int
		wantConfig map[string]string
		wantDesc   string
	}{
		// v3 failed: the release before v4 that went live is v2.
		{name: "previous", version: 0, wantSlug: 2, wantConfig: nil, wantDesc: "Rollback to v2"},
		{name: "named", version: 1, wantSlug: 1, wantConfig: nil, wantDesc: "Rollback to v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := history(t, 5)
			var out strings.Builder
			if err := r.p.Rollback(t.Context(), "shop", tt.version, "tester", &out); err != nil {
				t.Fatalf("rollback: %v\n%s", err, out.String())
			}
			rel := r.release(t, "shop", 5)
			if rel.Slug != tt.wantSlug || !maps.Equal(rel.Config, tt.wantConfig) || rel.Description != tt.wantDesc || rel.Status != nua.StatusSucceeded {
				t.Errorf("v5 = %+v, want slug %d, config %v, %q", rel, tt.wantSlug, tt.wantConfig, tt.wantDesc)
			}
			if got := r.app(t, "shop"); got.Release != 5 || !maps.Equal(got.Config, tt.wantConfig) {
				t.Errorf("app on v%d with config %v, want v5 with %v", got.Release, got.Config, tt.wantConfig)
			}
			if got, want := r.runner.takeCalls(), []string{"launch shop v5 "}; !slices.Equal(got, want) {
				t.Errorf("runner calls %q, want %q", got, want)
			}
			if !strings.Contains(out.String(), "Released v5") {
				t.Errorf("output lacks the new release:\n%s", out.String())
			}
		})
	}
}

func TestRollbackRefuses(t *testing.T) {
	tests := []struct {
		name      string
		keepSlugs int
		version   int
		errHas    string
	}{
		{name: "failed release", keepSlugs: 5, version: 3, errHas: "v3 failed and never went live"},
		{name: "current release", keepSlugs: 5, version: 4, errHas: "v4 is the current release"},
		{name: "no such release", keepSlugs: 5, version: 9, errHas: "release v9 does not exist"},
		// With one slug kept, the deploy of v2 pruned slug 1.
		{name: "pruned build", keepSlugs: 1, version: 1, errHas: "the build of v1 was pruned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := history(t, tt.keepSlugs)
			err := r.p.Rollback(t.Context(), "shop", tt.version, "tester", nil)
			if !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("rollback to v%d: %v, want ErrInvalid saying %q", tt.version, err, tt.errHas)
			}
			if got := r.runner.takeCalls(); len(got) != 0 {
				t.Errorf("a refused rollback called the runner: %q", got)
			}
			if got := r.app(t, "shop").Release; got != 4 {
				t.Errorf("current release v%d, want v4", got)
			}
			if got := r.releases(t, "shop"); len(got) != 4 {
				t.Errorf("a refused rollback made a release: %q", got)
			}
		})
	}
}

func TestRollbackBeforeAnyRelease(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	if err := r.p.Rollback(t.Context(), "shop", 0, "tester", nil); !errors.Is(err, nua.ErrInvalid) {
		t.Fatalf("rollback of a new app: %v, want ErrInvalid", err)
	}
	r.mustDeploy(t, "shop", "aaaaaaa1")
	err := r.p.Rollback(t.Context(), "shop", 0, "tester", nil)
	if !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), "no release before v1") {
		t.Fatalf("rollback from v1: %v, want ErrInvalid saying there is none before", err)
	}
}

// TestRollbackLaunchFails: the app stays on the release it ran.
func TestRollbackLaunchFails(t *testing.T) {
	r := history(t, 5)
	r.runner.launch = func(nua.App, nua.Release, string) error { return errKnob }
	if err := r.p.Rollback(t.Context(), "shop", 0, "tester", nil); !errors.Is(err, nua.ErrDeploy) {
		t.Fatalf("rollback: %v, want ErrDeploy", err)
	}
	if app := r.app(t, "shop"); app.Release != 4 || app.Config["A"] != "1" {
		t.Errorf("app on v%d with config %v, want v4 with A=1", app.Release, app.Config)
	}
	if got, want := r.runner.state("shop"), all(4, 1, 1); !maps.Equal(got, want) {
		t.Errorf("running %v, want %v", got, want)
	}
}
