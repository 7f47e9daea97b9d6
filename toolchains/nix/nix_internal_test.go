package nix

import (
	"slices"
	"testing"
)

func TestStorePath(t *testing.T) {
	tests := []struct {
		target string
		ok     bool
	}{
		{"/nix/store/2lmgz1dvr2qb9hwddva431apbz5wl5hd-nixapp", true},
		{"/nix/store/2lmgz1dvr2qb9hwddva431apbz5wl5hd-nixapp/", true},
		{"/nix/store/abc-x/bin", false},
		{"/nix/store/../../etc", false},
		{"/etc/passwd", false},
		{"relative/path", false},
	}
	for _, tt := range tests {
		if _, err := storePath(tt.target); (err == nil) != tt.ok {
			t.Errorf("storePath(%q) err=%v, want ok=%v", tt.target, err, tt.ok)
		}
	}
}

func TestArgs(t *testing.T) {
	tc := New()
	flake := tc.args("/src", true)
	if !slices.Contains(flake, "path:/src") || !slices.Contains(flake, "--no-write-lock-file") || slices.Contains(flake, "--file") {
		t.Errorf("flake args = %q", flake)
	}
	plain := tc.args("/src", false)
	if i := slices.Index(plain, "--file"); i < 0 || plain[i+1] != "/src/default.nix" {
		t.Errorf("default.nix args = %q", plain)
	}
	for _, args := range [][]string{flake, plain} {
		i := slices.Index(args, "substituters")
		if i < 0 || args[i+1] != "" || args[slices.Index(args, "--out-link")+1] != "/src/result" {
			t.Errorf("args = %q, want no substituters and the out-link in the slug", args)
		}
	}
}
