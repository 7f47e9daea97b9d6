package nua_test

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
)

func TestDeployFirstPush(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	out, err := r.deploy(t, "shop", "0123456789abcdef", map[string]string{
		"app.json": `{"formation": {"worker": {"quantity": 2}}, "healthchecks": {"web": [{"path": "/up"}]}}`,
	})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	for _, want := range []string{"-----> Building shop (0123456)", "-----> Launching...", "Released v1", "http://shop.example.test/ deployed to nua"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	app := r.app(t, "shop")
	if got, want := app.Release, 1; got != want {
		t.Fatalf("Release=%d, want %d", got, want)
	}
	if got, want := app.Formation, map[string]int{"worker": 2}; !maps.Equal(got, want) {
		t.Errorf("Formation=%v, want app.json's %v", got, want)
	}
	rel := r.release(t, "shop", 1)
	if rel.Status != nua.StatusSucceeded || rel.Slug != 1 || rel.Buildpack != "fake" || rel.By != "tester" || rel.Commit != "0123456789abcdef" {
		t.Errorf("release v1 = %+v", rel)
	}
	if got := rel.Healthchecks["web"]; len(got) != 1 || got[0].Path != "/up" {
		t.Errorf("release v1 healthchecks = %v, want app.json's", rel.Healthchecks)
	}
	if got, want := r.runner.state("shop"), all(1, 1, 2); !maps.Equal(got, want) {
		t.Errorf("running %v, want %v", got, want)
	}
	if got, want := r.builder.kept("shop"), []int{1}; !slices.Equal(got, want) {
		t.Errorf("slugs kept %v, want %v", got, want)
	}
}

// TestDeployFailures breaks each step of a second deploy: v1 must keep
// running and stay current, and no slug of the failed deploy is kept.
func TestDeployFailures(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		breakStep func(r *rig)
		// what the error says, and the releases recorded after it
		errHas   string
		releases []string
		// runner calls the failed deploy made
		calls []string
	}{
		{
			name:      "build fails",
			breakStep: func(r *rig) { r.builder.build = func(nua.App, int) error { return errKnob } },
			errHas:    "build: broken by the test",
			releases:  []string{"v1 succeeded slug=1"},
		},
		{
			name:     "bad app.json",
			files:    map[string]string{"app.json": `{"formation": {"web": {"quantity": -1}}}`},
			errHas:   "formation.web.quantity -1",
			releases: []string{"v1 succeeded slug=1"},
		},
		{
			name: "release phase fails",
			breakStep: func(r *rig) {
				r.builder.procs = map[string]string{"web": "bin/web", "worker": "bin/worker", "release": "bin/migrate"}
				r.runner.releasePhase = func(nua.Release, string) error { return errKnob }
			},
			errHas:   "release command: broken by the test",
			releases: []string{"v1 succeeded slug=1", "v2 failed slug=2"},
			calls:    []string{"release-phase shop v2"},
		},
		{
			name:      "launch fails",
			breakStep: func(r *rig) { r.runner.launch = func(nua.App, nua.Release, string) error { return errKnob } },
			errHas:    "broken by the test",
			releases:  []string{"v1 succeeded slug=1", "v2 failed slug=2"},
			calls:     []string{"launch shop v2 "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, 5)
			r.mustApp(t, "shop")
			r.mustDeploy(t, "shop", "aaaaaaa1")
			r.runner.takeCalls()
			if tt.breakStep != nil {
				tt.breakStep(r)
			}
			_, err := r.deploy(t, "shop", "bbbbbbb2", tt.files)
			if !errors.Is(err, nua.ErrDeploy) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("deploy error %v, want ErrDeploy saying %q", err, tt.errHas)
			}
			if got := r.app(t, "shop").Release; got != 1 {
				t.Errorf("current release v%d, want v1", got)
			}
			if got := r.releases(t, "shop"); !slices.Equal(got, tt.releases) {
				t.Errorf("releases %q, want %q", got, tt.releases)
			}
			if got := r.runner.takeCalls(); !slices.Equal(got, tt.calls) {
				t.Errorf("runner calls %q, want %q", got, tt.calls)
			}
			if got, want := r.runner.state("shop"), all(1, 1, 1); !maps.Equal(got, want) {
				t.Errorf("running %v, want v1 still %v", got, want)
			}
			if got, want := r.builder.kept("shop"), []int{1}; !slices.Equal(got, want) {
				t.Errorf("slugs kept %v, want %v", got, want)
			}
		})
	}
}

// TestDeployReleasePhaseGate: the release phase runs before anything is
// launched, in the new release.
func TestDeployReleasePhaseGate(t *testing.T) {
	r := newRig(t, 5)
	r.builder.procs = map[string]string{"web": "bin/web", "release": "bin/migrate"}
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	if got, want := r.runner.takeCalls(), []string{"release-phase shop v1", "launch shop v1 "}; !slices.Equal(got, want) {
		t.Fatalf("runner calls %q, want %q", got, want)
	}
	if got, want := r.runner.state("shop"), map[string]group{"web": {Release: 1, N: 1}}; !maps.Equal(got, want) {
		t.Errorf("running %v, want %v (release is no long-running type)", got, want)
	}
}

func TestDeployPrunesSlugs(t *testing.T) {
	r := newRig(t, 2)
	r.mustApp(t, "shop")
	for _, c := range []string{"aaaaaaa1", "aaaaaaa2", "aaaaaaa3", "aaaaaaa4"} {
		r.mustDeploy(t, "shop", c)
	}
	if got, want := r.builder.kept("shop"), []int{3, 4}; !slices.Equal(got, want) {
		t.Errorf("slugs kept %v, want the last two %v", got, want)
	}
}

// TestDeployStartsStoppedApp: a push brings a stopped app back.
func TestDeployStartsStoppedApp(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	if err := r.p.Stop(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	r.mustDeploy(t, "shop", "aaaaaaa2")
	if r.app(t, "shop").Stopped {
		t.Error("app still stopped after a deploy")
	}
	if got, want := r.runner.state("shop"), all(2, 1, 1); !maps.Equal(got, want) {
		t.Errorf("running %v, want %v", got, want)
	}
}

func TestSetConfig(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	var out strings.Builder
	// Before the first deploy the config waits for it.
	if err := r.p.SetConfig(t.Context(), "shop", map[string]string{"A": "1"}, nil, "tester", &out); err != nil {
		t.Fatal(err)
	}
	if got := r.releases(t, "shop"); len(got) != 0 {
		t.Fatalf("config:set before a deploy made releases %q", got)
	}
	r.mustDeploy(t, "shop", "aaaaaaa1")
	if got := r.release(t, "shop", 1).Config; !maps.Equal(got, map[string]string{"A": "1"}) {
		t.Fatalf("v1 config %v, want the one set before", got)
	}
	r.runner.takeCalls()

	if err := r.p.SetConfig(t.Context(), "shop", map[string]string{"B": "2"}, []string{"A"}, "tester", &out); err != nil {
		t.Fatal(err)
	}
	rel := r.release(t, "shop", 2)
	if want := map[string]string{"B": "2"}; !maps.Equal(rel.Config, want) || rel.Slug != 1 || rel.Status != nua.StatusSucceeded {
		t.Errorf("v2 = %+v, want config %v on slug 1", rel, want)
	}
	if got, want := rel.Description, "Set B config vars"; got != want {
		t.Errorf("v2 description %q, want %q", got, want)
	}
	if app := r.app(t, "shop"); app.Release != 2 || !maps.Equal(app.Config, rel.Config) {
		t.Errorf("app = release v%d config %v, want v2 and its config", app.Release, app.Config)
	}
	if got, want := r.runner.takeCalls(), []string{"launch shop v2 "}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q", got, want)
	}
	if got, want := r.runner.state("shop"), all(2, 1, 1); !maps.Equal(got, want) {
		t.Errorf("running %v, want %v", got, want)
	}
}

// TestSetConfigLaunchFails: the config stays as it was and the old release
// keeps running.
func TestSetConfigLaunchFails(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	r.runner.launch = func(nua.App, nua.Release, string) error { return errKnob }
	err := r.p.SetConfig(t.Context(), "shop", map[string]string{"B": "2"}, nil, "tester", nil)
	if !errors.Is(err, nua.ErrDeploy) {
		t.Fatalf("SetConfig error %v, want ErrDeploy", err)
	}
	if app := r.app(t, "shop"); app.Release != 1 || len(app.Config) != 0 {
		t.Errorf("app on v%d with config %v, want v1 with none", app.Release, app.Config)
	}
	if got, want := r.releases(t, "shop"), []string{"v1 succeeded slug=1", "v2 failed slug=1"}; !slices.Equal(got, want) {
		t.Errorf("releases %q, want %q", got, want)
	}
	if got, want := r.builder.kept("shop"), []int{1}; !slices.Equal(got, want) {
		t.Errorf("slugs kept %v, want %v: a failed config change removes no build", got, want)
	}
}

func TestSetConfigRefusesBadKeys(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	r.runner.takeCalls()
	err := r.p.SetConfig(t.Context(), "shop", nil, []string{"PORT"}, "tester", nil)
	if !errors.Is(err, nua.ErrInvalid) {
		t.Fatalf("unset PORT: %v, want ErrInvalid", err)
	}
	if got := r.runner.takeCalls(); len(got) != 0 {
		t.Errorf("a refused change called the runner: %q", got)
	}
	if got := r.releases(t, "shop"); len(got) != 1 {
		t.Errorf("a refused change made releases: %q", got)
	}
}

func TestDestroyApp(t *testing.T) {
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	r.runner.takeCalls()
	if err := r.p.DestroyApp(t.Context(), "shop", io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := r.runner.takeCalls(), []string{"remove shop"}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q", got, want)
	}
	if _, err := r.p.App("shop"); !errors.Is(err, nua.ErrNotFound) {
		t.Errorf("App after destroy: %v, want ErrNotFound", err)
	}
	if got := r.builder.kept("shop"); len(got) != 0 {
		t.Errorf("slugs kept after destroy: %v", got)
	}
	if _, ok := r.repos.repos["shop"]; ok {
		t.Error("repository kept after destroy")
	}
	// The name can be used again, with a new uid.
	r.mustApp(t, "shop")
	if got := r.app(t, "shop").UID; got != 2 {
		t.Errorf("new app's uid %d, want 2: never one an app had", got)
	}
}

// TestDeployPostdeploy: app.json's scripts.postdeploy runs once, after the
// first successful deploy, in the new release; its failure leaves that
// release live; later deploys do not run it.
func TestDeployPostdeploy(t *testing.T) {
	r := newRig(t, 5)
	var ran []string
	fail := false
	r.runner.releasePhase = func(rel nua.Release, cmd string) error {
		ran = append(ran, fmt.Sprintf("v%d %s", rel.Version, cmd))
		if fail {
			return errors.New("exit status 3")
		}
		return nil
	}
	manifest := map[string]string{"app.json": `{"scripts": {"postdeploy": "bin/seed --once"}}`}
	r.mustApp(t, "shop")
	fail = true
	out, err := r.deploy(t, "shop", "aaaaaaa1", manifest)
	if err != nil {
		t.Fatalf("deploy with a failing postdeploy: %v\n%s", err, out)
	}
	if !strings.Contains(out, "postdeploy failed (exit status 3): v1 stays live") {
		t.Errorf("output does not report the failure:\n%s", out)
	}
	if got := r.app(t, "shop").Release; got != 1 {
		t.Fatalf("Release=%d after a failed postdeploy, want 1 live", got)
	}
	fail = false
	if out, err := r.deploy(t, "shop", "aaaaaaa2", manifest); err != nil || strings.Contains(out, "postdeploy") {
		t.Fatalf("second deploy: %v, ran postdeploy again:\n%s", err, out)
	}
	if want := []string{"v1 bin/seed --once"}; !slices.Equal(ran, want) {
		t.Fatalf("postdeploy ran %q, want %q: once, on the first deploy", ran, want)
	}

	// An app whose first deploy failed runs it on its first successful one.
	r.mustApp(t, "blog")
	ran = nil
	r.builder.build = func(nua.App, int) error { return errors.New("compile error") }
	if _, err := r.deploy(t, "blog", "bbbbbbb1", manifest); err == nil {
		t.Fatal("deploy with a failing build succeeded")
	}
	r.builder.build = nil
	if out, err := r.deploy(t, "blog", "bbbbbbb2", manifest); err != nil || !strings.Contains(out, "-----> Running postdeploy: bin/seed --once") {
		t.Fatalf("first successful deploy: %v\n%s", err, out)
	}
	if want := []string{"v1 bin/seed --once"}; !slices.Equal(ran, want) { // a failed build records no release
		t.Fatalf("postdeploy ran %q, want %q", ran, want)
	}
}
