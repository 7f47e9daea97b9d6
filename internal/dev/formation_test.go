package dev_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/dev"
	"github.com/nua-paas/nua/procman"
)

func TestParseFormation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    dev.Formation
		wantErr string
	}{
		{name: "two types", in: "web=2,worker=1", want: dev.Formation{"web": 2, "worker": 1}},
		{name: "spaces", in: " web = 2 , worker=0 ", want: dev.Formation{"web": 2, "worker": 0}},
		{name: "all", in: "all=2,web=1", want: dev.Formation{"all": 2, "web": 1}},
		{name: "maximum", in: "web=100", want: dev.Formation{"web": 100}},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "no count", in: "web", wantErr: `"web" is not TYPE=N`},
		{name: "empty count", in: "web=", wantErr: "whole number"},
		{name: "word", in: "web=x", wantErr: "whole number"},
		{name: "negative", in: "web=-1", wantErr: "must not be negative"},
		{name: "plus sign", in: "web=+1", wantErr: "whole number"},
		{name: "too many", in: "web=101", wantErr: "at most 100"},
		{name: "huge", in: "web=99999999999999999999999", wantErr: "at most 100"},
		{name: "twice", in: "web=1,web=2", wantErr: "web given twice"},
		{name: "bad type", in: "we/b=1", wantErr: "must match"},
		{name: "trailing comma", in: "web=1,", wantErr: `"" is not TYPE=N`},
		{name: "no type", in: "=1", wantErr: "must match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dev.ParseFormation(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFormation(%q) error = %v, want ErrInvalid with %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("ParseFormation(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

var sampleProcfile = procman.Procfile{
	{Type: "release", Command: "migrate"},
	{Type: "web", Command: "serve"},
	{Type: "worker", Command: "work"},
	{Type: "clock", Command: "tick"},
}

// planned renders specs as "web.1:5000 worker.1:5100".
func planned(specs []procman.Spec) string {
	var out []string
	for _, s := range specs {
		out = append(out, fmt.Sprintf("%s:%d", s.Name(), s.Port))
	}
	return strings.Join(out, " ")
}

func TestPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		procfile  procman.Procfile
		formation dev.Formation
		base      int
		want      string
		wantErr   string
	}{
		{name: "one of each but release", formation: nil, base: 5000, want: "web.1:5000 worker.1:5100 clock.1:5200"},
		{name: "scaled", formation: dev.Formation{"web": 2, "clock": 1}, base: 5000, want: "web.1:5000 web.2:5001 clock.1:5200"},
		{name: "all", formation: dev.Formation{"all": 2, "worker": 0}, base: 6000, want: "web.1:6000 web.2:6001 clock.1:6200 clock.2:6201"},
		{name: "unnamed run none", formation: dev.Formation{"worker": 3}, base: 5000, want: "worker.1:5100 worker.2:5101 worker.3:5102"},
		{name: "unknown type", formation: dev.Formation{"wbe": 1}, base: 5000, wantErr: "no such process type in the Procfile (it has web, worker, clock)"},
		{name: "release", formation: dev.Formation{"release": 1}, base: 5000, wantErr: "release runs on deploys only"},
		{name: "nothing to run", formation: dev.Formation{"all": 0}, base: 5000, wantErr: "runs no process"},
		{name: "port overflow", formation: nil, base: 65400, wantErr: "clock.1 would get port 65600"},
		{name: "base zero", base: 0, wantErr: "port 0"},
		{name: "only release", procfile: procman.Procfile{{Type: "release", Command: "x"}}, base: 5000, wantErr: "no process to run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf := tt.procfile
			if pf == nil {
				pf = sampleProcfile
			}
			specs, err := dev.Plan(pf, tt.formation, tt.base)
			if tt.wantErr != "" {
				if !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Plan() error = %v, want ErrInvalid with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan(): %v", err)
			}
			if got := planned(specs); got != tt.want {
				t.Fatalf("Plan() = %s, want %s", got, tt.want)
			}
			for _, s := range specs {
				if cmd, _ := pf.Lookup(s.Type); s.Command != cmd || s.App == "" {
					t.Fatalf("spec %+v: want command %q and an app", s, cmd)
				}
			}
		})
	}
}

func FuzzParseFormation(f *testing.F) {
	for _, seed := range []string{"web=2,worker=1", "all=1,web=0", "web=100", "web=-1", "web", ",", "a=1,a=1", " x = 3 ", "release=1", "web=1,,"} {
		f.Add(seed, 5000)
	}
	f.Fuzz(func(t *testing.T, s string, base int) {
		form, err := dev.ParseFormation(s)
		if err != nil {
			if !errors.Is(err, nua.ErrInvalid) {
				t.Fatalf("ParseFormation(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		for typ, n := range form {
			if !procman.ValidType(typ) || n < 0 || n > dev.MaxInstances {
				t.Fatalf("ParseFormation(%q) = %v: bad entry %s=%d", s, form, typ, n)
			}
		}
		specs, err := dev.Plan(sampleProcfile, form, base)
		if err != nil {
			if !errors.Is(err, nua.ErrInvalid) {
				t.Fatalf("Plan error %v does not wrap ErrInvalid", err)
			}
			return
		}
		names, ports := map[string]bool{}, map[int]bool{}
		for _, sp := range specs {
			if sp.Type == "release" || sp.Port < 1 || sp.Port > 65535 || names[sp.Name()] || ports[sp.Port] {
				t.Fatalf("Plan(%v, %d) = %s: a release, a bad port or a duplicate", form, base, planned(specs))
			}
			names[sp.Name()], ports[sp.Port] = true, true
		}
		if len(specs) == 0 || !slices.IsSortedFunc(specs, func(a, b procman.Spec) int { return a.Port - b.Port }) {
			t.Fatalf("Plan(%v, %d) = %s: empty or out of order", form, base, planned(specs))
		}
	})
}
