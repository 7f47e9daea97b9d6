package nua_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/nua-paas/nua"
)

func TestParseLimits(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		want  nua.Limits
		reset []string
		bad   bool
	}{
		{name: "all three", args: []string{"memory=512M", "cpu=1.5", "tasks=256"}, want: nua.Limits{Memory: 512 << 20, CPU: 1.5, Tasks: 256}},
		{name: "gigabytes", args: []string{"memory=2G"}, want: nua.Limits{Memory: 2 << 30}},
		{name: "kilobytes", args: []string{"memory=65536K"}, want: nua.Limits{Memory: 64 << 20}},
		{name: "bytes", args: []string{"memory=33554432"}, want: nua.Limits{Memory: 32 << 20}},
		{name: "back to the default", args: []string{"memory=default", "tasks=32"}, want: nua.Limits{Tasks: 32}, reset: []string{"memory"}},
		{name: "nothing", args: nil, bad: true},
		{name: "below 16M", args: []string{"memory=15M"}, bad: true},
		{name: "negative", args: []string{"memory=-1G"}, bad: true},
		{name: "overflow", args: []string{"memory=99999999999999999G"}, bad: true},
		{name: "no number", args: []string{"memory=M"}, bad: true},
		{name: "zero cpu", args: []string{"cpu=0"}, bad: true},
		{name: "nan cpu", args: []string{"cpu=NaN"}, bad: true},
		{name: "inf cpu", args: []string{"cpu=+Inf"}, bad: true},
		{name: "few tasks", args: []string{"tasks=1"}, bad: true},
		{name: "unknown key", args: []string{"swap=1G"}, bad: true},
		{name: "no value", args: []string{"memory"}, bad: true},
		{name: "twice", args: []string{"cpu=1", "cpu=2"}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reset, err := nua.ParseLimits(tt.args)
			if tt.bad {
				if !errors.Is(err, nua.ErrInvalid) {
					t.Fatalf("ParseLimits(%q) = %+v, %v; want ErrInvalid", tt.args, got, err)
				}
				return
			}
			if err != nil || got != tt.want || !slices.Equal(reset, tt.reset) {
				t.Fatalf("ParseLimits(%q) = %+v, %q, %v; want %+v, %q", tt.args, got, reset, err, tt.want, tt.reset)
			}
		})
	}
}

func FuzzParseLimits(f *testing.F) {
	for _, s := range []string{"memory=512M", "cpu=0.5", "tasks=256", "memory=default", "memory=1G cpu=2", "cpu=1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		l, _, err := nua.ParseLimits([]string{arg})
		if err != nil {
			if !errors.Is(err, nua.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if l.Memory != 0 && (l.Memory < nua.MinMemory || l.Memory > nua.MaxMemory) {
			t.Fatalf("memory %d out of bounds", l.Memory)
		}
		if l.CPU != 0 && !(l.CPU >= 0.01 && l.CPU <= nua.MaxCPU) {
			t.Fatalf("cpu %v out of bounds", l.CPU)
		}
		if l.Tasks != 0 && (l.Tasks < nua.MinTasks || l.Tasks > nua.MaxTasks) {
			t.Fatalf("tasks %d out of bounds", l.Tasks)
		}
	})
}
