package nua_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
)

// deployed is a rig with app shop deployed once (web=1 worker=1, v1).
func deployed(t *testing.T) *rig {
	t.Helper()
	r := newRig(t, 5)
	r.mustApp(t, "shop")
	r.mustDeploy(t, "shop", "aaaaaaa1")
	r.runner.takeCalls()
	return r
}

func TestScale(t *testing.T) {
	r := deployed(t)
	var out strings.Builder
	if err := r.p.Scale(t.Context(), "shop", map[string]int{"web": 3, "worker": 0}, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := r.runner.takeCalls(), []string{"scale shop web=3", "scale shop worker=0"}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q", got, want)
	}
	if got, want := r.app(t, "shop").Formation, map[string]int{"web": 3, "worker": 0}; !maps.Equal(got, want) {
		t.Errorf("formation %v, want %v", got, want)
	}
	if got, want := r.runner.state("shop"), all(1, 3, 0); !maps.Equal(got, want) {
		t.Errorf("running %v, want %v", got, want)
	}
	for _, want := range []string{"Scaled shop to web=3", "Scaled shop to worker=0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// A redeploy keeps the formation.
	r.mustDeploy(t, "shop", "aaaaaaa2")
	if got, want := r.runner.state("shop"), all(2, 3, 0); !maps.Equal(got, want) {
		t.Errorf("running after redeploy %v, want %v", got, want)
	}
}

// TestScaleFails: a type that fails to scale keeps the formation as it was.
func TestScaleFails(t *testing.T) {
	r := deployed(t)
	r.runner.scale = func(typ string, n int) error {
		if typ == "worker" {
			return errKnob
		}
		return nil
	}
	err := r.p.Scale(t.Context(), "shop", map[string]int{"web": 2, "worker": 4}, nil)
	if !errors.Is(err, errKnob) {
		t.Fatalf("Scale error %v, want the runner's", err)
	}
	if got := r.app(t, "shop").Formation; len(got) != 0 {
		t.Errorf("formation %v after a failed scale, want it unchanged (empty)", got)
	}
}

func TestScaleRefuses(t *testing.T) {
	tests := []struct {
		name   string
		counts map[string]int
		errHas string
	}{
		{"unknown type", map[string]int{"web": 2, "clock": 1}, `no process type "clock"`},
		{"release type", map[string]int{"release": 1}, `no process type "release"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := deployed(t)
			err := r.p.Scale(t.Context(), "shop", tt.counts, nil)
			if !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Scale error %v, want ErrInvalid saying %q", err, tt.errHas)
			}
			if got := r.runner.takeCalls(); len(got) != 0 {
				t.Errorf("a refused scale called the runner: %q", got)
			}
		})
	}
	r := newRig(t, 5)
	r.mustApp(t, "new")
	if err := r.p.Scale(t.Context(), "new", map[string]int{"web": 2}, nil); !errors.Is(err, nua.ErrInvalid) {
		t.Errorf("scale before a deploy: %v, want ErrInvalid", err)
	}
}

// TestStopStart: ps:stop stops everything and stays across Restore; a
// stopped app scales on paper only; ps:start brings its formation back.
func TestStopStart(t *testing.T) {
	r := deployed(t)
	if err := r.p.Stop(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	if !r.app(t, "shop").Stopped {
		t.Error("app not marked stopped")
	}
	if got := r.runner.state("shop"); len(got) != 0 {
		t.Errorf("running after stop: %v", got)
	}
	if err := r.p.Restart(t.Context(), "shop", ""); !errors.Is(err, nua.ErrInvalid) {
		t.Errorf("restart of a stopped app: %v, want ErrInvalid", err)
	}
	if err := r.p.Scale(t.Context(), "shop", map[string]int{"web": 2}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := r.runner.takeCalls(), []string{"stop shop"}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q: a stopped app is neither scaled nor restored", got, want)
	}
	if err := r.p.Start(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	if r.app(t, "shop").Stopped {
		t.Error("app still marked stopped")
	}
	if got, want := r.runner.state("shop"), all(1, 2, 1); !maps.Equal(got, want) {
		t.Errorf("running after start %v, want %v", got, want)
	}
}

// TestStartFails: an app whose start fails stays stopped.
func TestStartFails(t *testing.T) {
	r := deployed(t)
	if err := r.p.Stop(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	r.runner.launch = func(nua.App, nua.Release, string) error { return errKnob }
	if err := r.p.Start(t.Context(), "shop"); !errors.Is(err, errKnob) {
		t.Fatalf("Start: %v, want the runner's error", err)
	}
	if !r.app(t, "shop").Stopped {
		t.Error("app marked started though nothing started")
	}
}

func TestRestart(t *testing.T) {
	r := deployed(t)
	if err := r.p.Restart(t.Context(), "shop", "worker"); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Restart(t.Context(), "shop", ""); err != nil {
		t.Fatal(err)
	}
	if got, want := r.runner.takeCalls(), []string{"launch shop v1 worker", "launch shop v1 "}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q", got, want)
	}
	if err := r.p.Restart(t.Context(), "shop", "clock"); !errors.Is(err, nua.ErrInvalid) {
		t.Errorf("restart of a missing type: %v, want ErrInvalid", err)
	}
}

// TestRestore starts the current release of every app that is neither
// stopped nor undeployed.
func TestRestore(t *testing.T) {
	r := newRig(t, 5)
	for _, name := range []string{"live", "paused", "empty"} {
		r.mustApp(t, name)
	}
	r.mustDeploy(t, "live", "aaaaaaa1")
	r.mustDeploy(t, "live", "aaaaaaa2")
	r.mustDeploy(t, "paused", "aaaaaaa1")
	if err := r.p.Stop(t.Context(), "paused"); err != nil {
		t.Fatal(err)
	}
	r.runner.takeCalls()
	r.runner.running = map[string]map[string]group{} // as after a daemon restart
	if err := r.p.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := r.runner.takeCalls(), []string{"launch live v2 "}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q", got, want)
	}
	ps, err := r.p.Ps("live")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range ps {
		got = append(got, fmt.Sprintf("%s v%d", s.Name, s.Release))
	}
	if want := []string{"web.1 v2", "worker.1 v2"}; !slices.Equal(got, want) {
		t.Errorf("ps %q, want %q", got, want)
	}
}

func TestRun(t *testing.T) {
	r := deployed(t)
	code, err := r.p.Run(t.Context(), nua.RunRequest{App: "shop", Command: []string{"ls", "-l"}})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if got, want := r.runner.takeCalls(), []string{`run shop v1 ["ls" "-l"]`}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q", got, want)
	}
	if _, err := r.p.Run(t.Context(), nua.RunRequest{App: "shop"}); !errors.Is(err, nua.ErrInvalid) {
		t.Errorf("Run with no command: %v, want ErrInvalid", err)
	}
	r.mustApp(t, "new")
	if _, err := r.p.Run(t.Context(), nua.RunRequest{App: "new", Command: []string{"ls"}}); !errors.Is(err, nua.ErrInvalid) {
		t.Errorf("Run before a deploy: %v, want ErrInvalid", err)
	}
	if got := r.runner.takeCalls(); len(got) != 0 {
		t.Errorf("refused runs called the runner: %q", got)
	}
}

// TestSetResources restarts the instances of the type whose limits
// changed, and only when they run.
func TestSetResources(t *testing.T) {
	r := deployed(t)
	var out strings.Builder
	if err := r.p.SetResources(t.Context(), "shop", "worker", nua.Limits{Memory: 1 << 30}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := r.runner.takeCalls(), []string{"launch shop v1 worker"}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q", got, want)
	}
	if got, want := r.app(t, "shop").Resources["worker"], (nua.Limits{Memory: 1 << 30}); got != want {
		t.Errorf("worker limits %+v, want %+v", got, want)
	}
	if !strings.Contains(out.String(), "shop worker: memory=1G cpu=none tasks=none") {
		t.Errorf("output does not show the limits in force:\n%s", out.String())
	}
	// A type with no instances running gets its limits on paper only.
	if err := r.p.Scale(t.Context(), "shop", map[string]int{"worker": 0}, nil); err != nil {
		t.Fatal(err)
	}
	r.runner.takeCalls()
	if err := r.p.SetResources(t.Context(), "shop", "worker", nua.Limits{Tasks: 64}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.runner.takeCalls(); len(got) != 0 {
		t.Errorf("runner calls %q for a type that does not run", got)
	}
}
