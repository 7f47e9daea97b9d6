package buildpacks_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
)

// TestBuildMaxProcessTypes checks the cap on an app's process types
// counts the buildpack's defaults with the Procfile's: 20 build, 21 fail
// with a message naming the Procfile.
func TestBuildMaxProcessTypes(t *testing.T) {
	for _, tt := range []struct {
		defaults, declared int
		err                string
	}{
		{defaults: 10, declared: 10},
		{defaults: 12, declared: 9, err: "discover process types: the Procfile and the buildpack's defaults make 21 process types, more than the 20 an app may have: declare fewer in the Procfile"},
	} {
		t.Run(fmt.Sprintf("%d+%d", tt.defaults, tt.declared), func(t *testing.T) {
			pack := &fakePack{name: "Many", detect: hasFile("app.x"), build: func(_ context.Context, b *buildpacks.Build) error {
				for i := range tt.defaults {
					b.Processes[fmt.Sprintf("d%d", i)] = "run"
				}
				return nil
			}}
			var procfile strings.Builder
			for i := range tt.declared {
				fmt.Fprintf(&procfile, "p%d: run\n", i)
			}
			src := mustSrc(t, map[string]string{"app.x": "", "Procfile": procfile.String()})
			res, err := buildpacks.New([]buildpacks.Buildpack{pack}).Build(t.Context(), src, t.TempDir(), nil, nil, io.Discard)
			if tt.err == "" {
				if err != nil || len(res.Types) != tt.defaults+tt.declared {
					t.Fatalf("Build = %v, %v; want %d types", res.Types, err, tt.defaults+tt.declared)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Build: %v, want %q", err, tt.err)
			}
		})
	}
}
