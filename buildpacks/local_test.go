package buildpacks_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
)

// TestLocalBuildpacksRefused checks that a buildpack on the server's disk,
// by path or file:// URL, in .buildpacks or BUILDPACK_URL, is used only
// inside the operator's buildpacks dir, symlinks resolved, and that the
// refusal comes before nua reads the path (it says nothing of what is
// there).
func TestLocalBuildpacksRefused(t *testing.T) {
	allowed := filepath.Join(t.TempDir(), "buildpacks")
	if err := os.CopyFS(filepath.Join(allowed, "web"), os.DirFS(testBuildpack(t, "web"))); err != nil {
		t.Fatal(err)
	}
	outside := testBuildpack(t, "web") // a real buildpack, elsewhere
	if err := os.Symlink(outside, filepath.Join(allowed, "link-out")); err != nil {
		t.Fatal(err)
	}
	none := "this server takes no buildpack from its own disk: name a git URL (https://...), or ask its operator to allow a directory of buildpacks (nua server --buildpacks-dir DIR)"
	notThere := "is outside " + allowed + ", the only directory this server takes buildpacks from (nua server --buildpacks-dir): put the buildpack there, or name a git URL"
	tests := []struct {
		name    string
		dir     string // the operator's buildpacks dir; "" = none
		list    string // .buildpacks
		config  string // BUILDPACK_URL
		errText string // "" = the build succeeds
	}{
		{name: "a path, no dir allowed", list: outside, errText: "buildpack " + outside + ": bad buildpack URL: " + none},
		{name: "a file URL, no dir allowed", list: "file:///srv/bp.git#v1", errText: "buildpack file:///srv/bp.git#v1: bad buildpack URL: " + none},
		{name: "BUILDPACK_URL path, no dir allowed", config: outside, errText: none},
		{name: "a path outside the dir", dir: allowed, list: outside, errText: "buildpack " + outside + ": bad buildpack URL: " + outside + " " + notThere},
		{name: "a missing path outside the dir", dir: allowed, list: "/etc/nua-secret", errText: "/etc/nua-secret " + notThere},
		{name: "a file URL outside the dir", dir: allowed, list: "file:///var/lib/nua", errText: "/var/lib/nua " + notThere},
		{name: "a link in the dir that leads out", dir: allowed, list: filepath.Join(allowed, "link-out"), errText: notThere},
		{name: "a path inside the dir", dir: allowed, list: filepath.Join(allowed, "web")},
		{name: "BUILDPACK_URL inside the dir", dir: allowed, config: filepath.Join(allowed, "web")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"server.pl": ""}
			if tt.list != "" {
				files[".buildpacks"] = tt.list + "\n"
			}
			var env []string
			if tt.config != "" {
				env = []string{"BUILDPACK_URL=" + tt.config}
			}
			var opts []buildpacks.Option
			if tt.dir != "" {
				opts = append(opts, buildpacks.WithBuildpacksDir(tt.dir))
			}
			var out bytes.Buffer
			res, err := buildpacks.New(noBuiltins, opts...).Build(t.Context(), mustSrc(t, files), t.TempDir(), env, nil, &out)
			if tt.errText == "" {
				if err != nil || res.Buildpack != "Perl web" {
					t.Fatalf("Build = %q, %v; want the Perl web buildpack\n%s", res.Buildpack, err, out.String())
				}
				return
			}
			if err == nil || !errors.Is(err, buildpacks.ErrBuildpackURL) || !strings.Contains(err.Error(), tt.errText) {
				t.Fatalf("Build: %v\nwant an error with %q", err, tt.errText)
			}
			if strings.Contains(out.String(), "detected") || strings.Contains(out.String(), "Fetching") {
				t.Fatalf("the refused buildpack was used:\n%s", out.String())
			}
		})
	}
}

func TestCheckLocalBuildpack(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		dir, path string
		ok        bool
	}{
		{dir, dir, true},
		{dir, filepath.Join(dir, "a", "b"), true},
		{dir, dir + "-other", false},
		{dir, filepath.Dir(dir), false},
		{"", dir, false},
		{"/", "/anything", true},
	}
	for _, tt := range tests {
		if err := buildpacks.CheckLocalBuildpack(tt.dir, tt.path); (err == nil) != tt.ok {
			t.Errorf("CheckLocalBuildpack(%q, %q) = %v, want ok=%v", tt.dir, tt.path, err, tt.ok)
		}
	}
}
