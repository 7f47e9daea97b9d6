package commands

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/urfave/cli/v2"
)

// checkedPack is a buildpack whose Doctor returns check.
type checkedPack struct {
	name  string
	check buildpacks.Check
}

func (p checkedPack) Name() string                                   { return p.name }
func (p checkedPack) Detect(string) (bool, error)                    { return false, nil }
func (p checkedPack) Build(context.Context, *buildpacks.Build) error { return nil }
func (p checkedPack) Doctor(context.Context) buildpacks.Check        { return p.check }

func TestDoctorLines(t *testing.T) {
	bps := []buildpacks.Buildpack{
		checkedPack{"Ruby", buildpacks.Check{Tools: []buildpacks.Tool{{Name: "ruby", Version: "3.1.2", Path: "/usr/bin/ruby"}, {Name: "bundle", Version: "2.3.15", Path: "/usr/bin/bundle"}}}},
		checkedPack{"Rust", buildpacks.Check{Problem: "cargo not found on PATH:\ninstall it"}},
		struct{ buildpacks.Buildpack }{checkedPack{name: "Static"}},
	}
	var out bytes.Buffer
	Doctor(context.Background(), &out, bps)
	want := "-----> Toolchains on this host\n" +
		"       Ruby    ready    ruby 3.1.2 (/usr/bin/ruby), bundle 2.3.15 (/usr/bin/bundle)\n" +
		"       Rust    missing  cargo not found on PATH: install it\n" +
		"       Static  ready    nothing to install\n" +
		"       2 of 3 toolchains ready; external buildpacks (.buildpacks, BUILDPACK_URL) run with the host's tools\n" +
		"-----> Build backends\n" +
		"       native   ok\n"
	if got := out.String(); got != want {
		t.Fatalf("Doctor wrote:\n%s\nwant:\n%s", got, want)
	}
}

// TestDoctorRunsHere checks that the Local door runs doctor itself
// instead of forwarding it to the server.
func TestDoctorRunsHere(t *testing.T) {
	var out bytes.Buffer
	o := Options{Door: Local, Stdout: &out, Stderr: &out, Forward: func(*cli.Context, []string) (int, error) {
		t.Error("doctor was forwarded to the server")
		return 1, nil
	}}
	if code := Run(context.Background(), o, []string{"doctor"}); code != 0 {
		t.Fatalf("doctor: exit %d\n%s", code, out.String())
	}
	for _, want := range []string{"-----> Toolchains on this host\n", "       Go ", "       Ruby ", "       Rust ", "toolchains ready"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
	if code := Run(context.Background(), o, []string{"doctor", "extra"}); code != ExitUsage {
		t.Fatalf("doctor extra: exit %d, want a usage error", code)
	}
}
