package buildpacks_test

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/buildpacks"
)

// testBuildpack returns the absolute path of a buildpack in
// testdata/buildpacks.
func testBuildpack(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "buildpacks", name))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// multiApp is the multi-buildpack sample with a .buildpacks naming the
// writer and web test buildpacks.
func multiApp(t *testing.T, extra ...string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "multibp")
	if err := os.CopyFS(src, os.DirFS(filepath.Join("..", "testdata", "apps", "multibp"))); err != nil {
		t.Fatal(err)
	}
	lines := append([]string{"# the writer first", testBuildpack(t, "writer"), "", testBuildpack(t, "web")}, extra...)
	write(t, filepath.Join(src, ".buildpacks"), strings.Join(lines, "\n")+"\n")
	return src
}

// noBuiltins is a Builder's built-in list that detects nothing.
var noBuiltins = []buildpacks.Buildpack{&fakePack{name: "Builtin"}}

// fromTestdata lets a Builder take the buildpacks of testdata/buildpacks.
func fromTestdata(t *testing.T) buildpacks.Option {
	return buildpacks.WithBuildpacksDir(filepath.Dir(testBuildpack(t, "web")))
}

// fromAnywhere lets a Builder take buildpacks from any dir of the disk, for
// the tests of what happens to a buildpack once it is taken.
var fromAnywhere = buildpacks.WithBuildpacksDir("/")

func TestExternalMultiBuildpack(t *testing.T) {
	src := multiApp(t)
	write(t, filepath.Join(src, "Procfile"), "clock: echo the Procfile wins\n")
	cache := t.TempDir()
	var out bytes.Buffer
	res, err := buildpacks.New(noBuiltins, fromTestdata(t)).Build(t.Context(), src, cache, []string{"GREETING=from config", "BAD KEY=x"}, nil, &out)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, out.String())
	}
	want := map[string]string{"web": "exec perl server.pl", "clock": "echo the Procfile wins"}
	if !maps.Equal(res.Processes, want) || res.Buildpack != "Writer + Perl web" {
		t.Fatalf("Build: %q %v, want \"Writer + Perl web\" %v", res.Buildpack, res.Processes, want)
	}
	for _, line := range []string{
		"-----> Using buildpacks from .buildpacks\n",
		"-----> Writer app detected\n",
		"-----> Writing the greeting\n", // a step line of the buildpack's own
		"       wrote greeting.txt\n",
		"       a line on stderr\n",
		"-----> Perl web app detected\n",
		"       nothing to compile for server.pl\n",
		"       Procfile declares types -> clock\n",
		"       Default types for buildpack -> web\n",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
	if got, _ := os.ReadFile(filepath.Join(src, "greeting.txt")); string(got) != "from config\n" {
		t.Errorf("greeting.txt = %q, want the GREETING config from ENV_DIR", got)
	}
	seen, _ := os.ReadFile(filepath.Join(src, ".build-env"))
	for _, line := range strings.Split(strings.TrimSpace(string(seen)), "\n") {
		_, dir, _ := strings.Cut(line, "=")
		if !strings.HasPrefix(dir, cache+string(filepath.Separator)) {
			t.Errorf("buildpack ran with %s, want a dir inside the cache %s", line, cache)
		}
	}
	if _, err := os.Stat(filepath.Join(cache, ".tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the build's TMPDIR survived the build: %v", err)
	}

	// A second build keeps the buildpacks' CACHE.
	out.Reset()
	if _, err := buildpacks.New(noBuiltins, fromTestdata(t)).Build(t.Context(), multiApp(t), cache, nil, nil, &out); err != nil {
		t.Fatalf("second Build: %v", err)
	}
	if !strings.Contains(out.String(), "       cache kept from the last build\n") {
		t.Fatalf("second build lost the buildpack cache:\n%s", out.String())
	}
}

func TestExternalFailures(t *testing.T) {
	protected := t.TempDir()
	inProtected := filepath.Join(protected, "bp")
	if err := os.CopyFS(inProtected, os.DirFS(testBuildpack(t, "writer"))); err != nil {
		t.Fatal(err)
	}
	notBuildpack := t.TempDir()
	tests := []struct {
		name    string
		list    string // .buildpacks
		errIs   error
		errText string
		output  string
	}{
		{"compile fails", testBuildpack(t, "fails-compile"), nil,
			"build app with the buildpacks of .buildpacks: buildpack " + testBuildpack(t, "fails-compile") + ": bin/compile: exit status 3",
			"       error: the compiler gave up\n"},
		{"release prints garbage", testBuildpack(t, "garbage-release"), nil,
			"buildpack " + testBuildpack(t, "garbage-release") + ": bin/release: output is not the YAML of a release", "       compiled fine\n"},
		{"detect says no", testBuildpack(t, "never-detects"), nil,
			"bin/detect: the buildpack does not build this app (exit status 1)", "       no app of mine here\n"},
		{"missing dir", "/nonexistent/buildpack", nil, "buildpack /nonexistent/buildpack: stat /nonexistent/buildpack: no such file or directory", ""},
		{"not a buildpack", notBuildpack, nil, "buildpack " + notBuildpack + ": no bin/detect", ""},
		{"inside a protected dir", inProtected, buildpacks.ErrBuildpackURL, "is inside nua's dir " + protected, ""},
		{"slug links into the cache", testBuildpack(t, "escapes"), buildpacks.ErrOutside, "symlink cache-link -> ", ""},
		{"bad line", "web\n", buildpacks.ErrBuildpackURL, ".buildpacks line 1: bad buildpack URL", ""},
		{"unfetchable git URL", "file:///nonexistent/repo.git#v1", nil, "fetch buildpack file:///nonexistent/repo.git#v1: ", "-----> Fetching buildpack file:///nonexistent/repo.git#v1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := mustSrc(t, map[string]string{".buildpacks": tt.list + "\n"})
			var out bytes.Buffer
			_, err := buildpacks.New(noBuiltins, buildpacks.WithProtected(protected), fromAnywhere).Build(t.Context(), src, t.TempDir(), nil, nil, &out)
			if err == nil || !strings.Contains(err.Error(), tt.errText) || (tt.errIs != nil && !errors.Is(err, tt.errIs)) {
				t.Fatalf("Build: %v\nwant an error with %q\n%s", err, tt.errText, out.String())
			}
			if !strings.Contains(out.String(), tt.output) {
				t.Fatalf("output lacks %q:\n%s", tt.output, out.String())
			}
			if _, err := os.Stat(filepath.Join(src, "never-detects-compiled")); err == nil {
				t.Fatal("bin/compile ran after bin/detect said no")
			}
		})
	}
}

// TestExternalGit fetches a buildpack from a local git repository through
// a file:// URL with a #ref, and reuses the fetched copy.
func TestExternalGit(t *testing.T) {
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+repo,
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	release := func(version string) {
		if err := os.CopyFS(repo, os.DirFS(testBuildpack(t, "web"))); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatal(err)
		}
		script := "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: echo " + version + "\\n'\n"
		if err := os.WriteFile(filepath.Join(repo, "bin", "release"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	release("v1")
	git("add", "-A")
	git("commit", "-q", "-m", "v1")
	git("tag", "v1")
	release("v2")
	git("commit", "-q", "-am", "v2")

	cache := t.TempDir()
	build := func(ref string) (string, string) {
		t.Helper()
		src := mustSrc(t, map[string]string{"server.pl": "", ".buildpacks": "file://" + repo + ref + "\n"})
		var out bytes.Buffer
		res, err := buildpacks.New(noBuiltins, fromAnywhere).Build(t.Context(), src, cache, nil, nil, &out)
		if err != nil {
			t.Fatalf("Build with %s: %v\n%s", ref, err, out.String())
		}
		return res.Processes["web"], out.String()
	}
	web, out := build("#v1")
	if web != "echo v1" || !strings.Contains(out, "-----> Fetching buildpack file://"+repo+"#v1\n") || !strings.Contains(out, "       Fetched commit ") {
		t.Fatalf("#v1: web %q, want echo v1\n%s", web, out)
	}
	web, out = build("#v1")
	if web != "echo v1" || strings.Contains(out, "Fetching") || !strings.Contains(out, "       Using buildpack file://"+repo+"#v1 fetched on ") {
		t.Fatalf("#v1 again: web %q, want echo v1 from the fetched copy\n%s", web, out)
	}
	if web, out = build("#main"); web != "echo v2" {
		t.Fatalf("#main: web %q, want echo v2\n%s", web, out)
	}
	if web, out = build(""); web != "echo v2" {
		t.Fatalf("no ref: web %q, want echo v2 (the default branch)\n%s", web, out)
	}

	src := mustSrc(t, map[string]string{".buildpacks": "file://" + repo + "#nope\n"})
	_, err := buildpacks.New(noBuiltins, fromAnywhere).Build(t.Context(), src, cache, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `no branch, tag or commit "nope"`) {
		t.Fatalf("Build with #nope: %v, want an error naming the ref", err)
	}
}

// TestBuildpackURLConfig checks that the BUILDPACK_URL config wins over a
// .buildpacks file and over the built-in buildpacks.
func TestBuildpackURLConfig(t *testing.T) {
	builtin := &fakePack{name: "Builtin", detect: hasFile("server.pl"), build: setsWeb("builtin")}
	src := multiApp(t)
	var out bytes.Buffer
	res, err := buildpacks.New([]buildpacks.Buildpack{builtin}, fromTestdata(t)).
		Build(t.Context(), src, t.TempDir(), []string{"BUILDPACK_URL=" + testBuildpack(t, "web")}, nil, &out)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, out.String())
	}
	if res.Buildpack != "Perl web" || builtin.built || !strings.Contains(out.String(), "-----> Using buildpacks from BUILDPACK_URL\n") {
		t.Fatalf("Build: %q (built-in built: %v), want only the BUILDPACK_URL buildpack\n%s", res.Buildpack, builtin.built, out.String())
	}
	if _, err := os.Stat(filepath.Join(src, "greeting.txt")); err == nil {
		t.Fatal("the .buildpacks writer ran too")
	}
}

// TestExternalTimeout checks that the time limit kills a buildpack script
// and its children.
func TestExternalTimeout(t *testing.T) {
	src := mustSrc(t, map[string]string{".buildpacks": testBuildpack(t, "slow-compile") + "\n"})
	start := time.Now()
	_, err := buildpacks.New(noBuiltins, buildpacks.WithTimeout(500*time.Millisecond), fromTestdata(t)).Build(t.Context(), src, t.TempDir(), nil, nil, nil)
	if !errors.Is(err, buildpacks.ErrTimeout) {
		t.Fatalf("Build: %v, want ErrTimeout", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Fatalf("Build returned after %s", elapsed)
	}
	data, err := os.ReadFile(filepath.Join(src, "child.pid"))
	if err != nil {
		t.Fatalf("read child pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}
