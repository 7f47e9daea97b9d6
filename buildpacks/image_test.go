package buildpacks_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
)

func TestCheckImageRef(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		ref string
		err string // "" = accepted
	}{
		{ref: "paketobuildpacks/builder-jammy-base"},
		{ref: "paketobuildpacks/builder-jammy-base:0.4.1"},
		{ref: "nua-cnb-builder:local"},
		{ref: "localhost/nua-cnb-builder:local"},
		{ref: "registry.example.org:5000/team/builder:v2"},
		{ref: "docker.io/heroku/builder:24@" + digest},
		{ref: "quay.io/nua/builder:1"}, // another registry's "nua"
		{ref: "heroku/builder@" + digest},
		{ref: "", err: "give an image name of 1 to 255 characters"},
		{ref: strings.Repeat("a", 256), err: "give an image name of 1 to 255 characters"},
		{ref: "Paketo/Builder", err: `"Paketo/Builder" is not an image name`},
		{ref: "builder:tag with space", err: "is not an image name"},
		{ref: "-builder", err: "is not an image name"},
		{ref: "builder:", err: "is not an image name"},
		{ref: "a//b", err: "is not an image name"},
		{ref: "builder;rm -rf /", err: "is not an image name"},
		{ref: "builder@sha256:abc", err: "is not an image name"},
		{ref: "0123456789ab", err: "looks like an image ID"},
		{ref: strings.Repeat("f", 64), err: "looks like an image ID"},
		{ref: digest, err: "looks like an image ID"},
		{ref: "nua-build/myapp-1a2b3c4d", err: "is an image nua's builds make from an app's code"},
		{ref: "nua-build/myapp-1a2b3c4d:latest", err: "is an image nua's builds make"},
		{ref: "localhost/nua-build/myapp-1a2b3c4d", err: "is an image nua's builds make"},
		{ref: "nua/myapp:v3", err: "is an image nua's builds make"},
		{ref: "docker.io/library/nua/myapp:v3", err: "is an image nua's builds make"},
		{ref: "localhost:5000/nua/myapp:v3", err: "is an image nua's builds make"},
		{ref: "nua:latest", err: "is an image nua's builds make"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			err := buildpacks.CheckImageRef(tt.ref)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("CheckImageRef(%q) = %v, want accepted", tt.ref, err)
				}
				return
			}
			if err == nil || !errors.Is(err, buildpacks.ErrImageRef) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("CheckImageRef(%q) = %v, want %q", tt.ref, err, tt.err)
			}
		})
	}
}

func FuzzCheckImageRef(f *testing.F) {
	for _, s := range []string{"paketobuildpacks/builder:base", "localhost/nua-build/x", "nua/a:v1", "a@sha256:" + strings.Repeat("0", 64), "0123456789ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		if buildpacks.CheckImageRef(ref) != nil {
			return
		}
		if strings.ContainsAny(ref, " \t\n;$`'\"\\") || len(ref) > 255 || strings.HasPrefix(ref, "-") {
			t.Fatalf("accepted %q", ref)
		}
		for _, p := range []string{"nua-build/", "nua/", "localhost/nua-build/", "localhost/nua/"} {
			if strings.HasPrefix(ref, p) {
				t.Fatalf("accepted nua's own image %q", ref)
			}
		}
	})
}
