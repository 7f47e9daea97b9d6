package main_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2EToolchains pushes the Ruby and Rust sample apps through the real
// pipeline, redeploys them with a warm cache, and checks doctor and
// apps:purge-cache on both doors.
func TestE2EToolchains(t *testing.T) {
	s := testutil.StartServer(t)
	ruby := testutil.NewRepo(t, "rubyapp")
	rust := testutil.NewRepo(t, "rustapp")

	t.Run("ruby", func(t *testing.T) {
		out := mustPush(t, s, ruby, "rubyapp", "remote: -----> Ruby app detected", "remote:        bundle install (deployment mode",
			"remote:        Bundle complete!", "remote:        Procfile declares types -> web", "remote:        Released v1")
		mustAnswer(t, s, "rubyapp", "hello from rubyapp world", out)
		testutil.Commit(t, ruby, "server.rb", readFile(t, ruby, "server.rb")+"# a change that keeps the gems\n")
		out = mustPush(t, s, ruby, "rubyapp", "remote:        Gemfile.lock unchanged: skipping bundle install, reusing the cached gems")
		mustAnswer(t, s, "rubyapp", "hello from rubyapp world", out)
	})

	t.Run("rust", func(t *testing.T) {
		out := mustPush(t, s, rust, "rustapp", "remote: -----> Rust app detected", "remote:        Installed bin/rustapp",
			"remote:        Default types for buildpack -> web")
		if strings.Contains(out, "Reusing") {
			t.Fatalf("first push says it reuses a target dir:\n%s", out)
		}
		mustAnswer(t, s, "rustapp", "hello from rustapp world", out)
		editRust(t, rust, "world", "redeployed")
		out = mustPush(t, s, rust, "rustapp", "remote:        Reusing the target dir of the previous build: only changes recompile")
		mustAnswer(t, s, "rustapp", "hello from rustapp redeployed", out)
	})

	t.Run("doctor on both doors", func(t *testing.T) {
		for name, run := range map[string]func(...string) (string, int){
			"ssh": func(a ...string) (string, int) { return s.SSH(nil, a...) },
			// The user's own HOME: rustup finds its toolchains there.
			"local": func(a ...string) (string, int) { return s.ExecEnv([]string{"HOME=" + os.Getenv("HOME")}, a...) },
		} {
			out, code := run("doctor")
			for _, want := range []string{"-----> Toolchains on this host", `Go\s+ready\s+go 1\.`, `Ruby\s+ready\s+ruby 3\.`, `Rust\s+ready\s+cargo `, "-----> Build backends", "native   ok"} {
				if code != 0 || !regexp.MustCompile(want).MatchString(out) {
					t.Errorf("%s doctor: exit %d, want %q:\n%s", name, code, want, out)
				}
			}
		}
	})

	t.Run("purge-cache", func(t *testing.T) {
		out, code := s.SSH(nil, "apps:purge-cache", "rustapp")
		if code != 0 || !strings.Contains(out, "-----> Purged the build cache of rustapp (") {
			t.Fatalf("apps:purge-cache: exit %d\n%s", code, out)
		}
		if entries, err := os.ReadDir(filepath.Join(s.Data, "cache", "rustapp")); err != nil || len(entries) != 0 {
			t.Fatalf("cache dir after purge: %d entries, %v", len(entries), err)
		}
		mustAnswer(t, s, "rustapp", "hello from rustapp redeployed", "the running release survives a purge")
		editRust(t, rust, "redeployed", "cold")
		out = mustPush(t, s, rust, "rustapp", "remote:        Installed bin/rustapp")
		if strings.Contains(out, "Reusing") {
			t.Fatalf("push after a purge reused a target dir:\n%s", out)
		}
		if out, code := s.CLI(nil, "apps:purge-cache", "nosuchapp"); code == 0 {
			t.Fatalf("apps:purge-cache of a missing app succeeded:\n%s", out)
		}
	})
}

// TestE2EExternalBuildpacks pushes an app built by two buildpacks of the
// Heroku buildpack API from the operator's buildpacks dir, then a push
// whose buildpack's bin/release prints garbage, and one naming a dir
// outside the buildpacks dir, which fail and leave the running release
// serving.
func TestE2EExternalBuildpacks(t *testing.T) {
	bp := func(name string) string { return filepath.Join(testutil.RepoRoot(t), "testdata", "buildpacks", name) }
	s := testutil.StartServer(t, "--buildpacks-dir", bp(""))
	repo := testutil.NewRepo(t, "multibp")
	testutil.Commit(t, repo, ".buildpacks", bp("writer")+"\n"+bp("web")+"\n")
	if out, code := s.SSH(nil, "apps:create", "multi"); code != 0 {
		t.Fatalf("apps:create: exit %d\n%s", code, out)
	}
	if out, code := s.SSH(nil, "config:set", "multi", "GREETING=from-config"); code != 0 {
		t.Fatalf("config:set: exit %d\n%s", code, out)
	}
	out := mustPush(t, s, repo, "multi", "remote: -----> Using buildpacks from .buildpacks", "remote: -----> Writer app detected",
		"remote: -----> Writing the greeting", "remote:        wrote greeting.txt", "remote: -----> Perl web app detected",
		"remote:        Default types for buildpack -> clock, web", "remote:        Released v1")
	mustAnswer(t, s, "multi", "hello from multibp from-config", out)

	for _, tt := range []struct{ name, list, want string }{
		{"garbage release", bp("writer") + "\n" + bp("garbage-release") + "\n",
			"buildpack " + bp("garbage-release") + ": bin/release: output is not the YAML of a release"},
		{"unfetchable URL", "https://127.0.0.1:1/no/such/buildpack.git#v1\n",
			"fetch buildpack https://127.0.0.1:1/no/such/buildpack.git#v1: "},
		{"outside the buildpacks dir", s.Data + "\n",
			"buildpack " + s.Data + ": bad buildpack URL: " + s.Data + " is outside " + bp("") + ", the only directory this server takes buildpacks from (nua server --buildpacks-dir): put the buildpack there, or name a git URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.Run(t, repo, nil, "git", "rev-parse", "HEAD")
			testutil.Commit(t, repo, ".buildpacks", tt.list)
			out, code := s.Push(repo, "multi", "main")
			t.Logf("push output:\n%s", out)
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Fatalf("push: exit %d, want failure with %q:\n%s", code, tt.want, out)
			}
			mustAnswer(t, s, "multi", "hello from multibp from-config", "the previous release after a failed push")
			entries, _ := os.ReadDir(filepath.Join(s.Data, "apps", "multi", "releases"))
			if len(entries) != 1 || entries[0].Name() != "v1" {
				t.Fatalf("releases dir after a failed push: %v, want only v1", entries)
			}
			testutil.Run(t, repo, nil, "git", "reset", "-q", "--hard", before)
		})
	}
}

// TestE2ELocalBuild runs `nua build` on a laptop-like checkout: no server,
// the same detection and output, the slug in --out.
func TestE2ELocalBuild(t *testing.T) {
	nuaBin, _ := testutil.Binaries(t)
	repo := testutil.NewRepo(t, "rustapp")
	out := filepath.Join(repo, ".nua-build")
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(nuaBin, args...)
		cmd.Dir = repo
		b, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("nua %v: %v", args, err)
		}
		return string(b), cmd.ProcessState.ExitCode()
	}
	got, code := run("build")
	for _, want := range []string{"-----> Rust app detected\n", "       Installed bin/rustapp\n", "-----> Built with Rust: " + filepath.Join(out, "slug") + "\n", "       web: bin/rustapp\n"} {
		if code != 0 || !strings.Contains(got, want) {
			t.Fatalf("nua build: exit %d, want %q:\n%s", code, want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "slug", "bin", "rustapp")); err != nil {
		t.Fatalf("slug binary: %v", err)
	}
	for _, skipped := range []string{".git", ".nua-build"} {
		if _, err := os.Stat(filepath.Join(out, "slug", skipped)); err == nil {
			t.Fatalf("the slug holds %s", skipped)
		}
	}

	broken := filepath.Join(testutil.RepoRoot(t), "testdata", "apps", "broken-go")
	got, code = run("build", "--out", out, broken)
	if code == 0 || !strings.Contains(got, `./main.go:8:17: cannot use "5000"`) || !strings.Contains(got, " !     build Go app: go build: exit status 1") {
		t.Fatalf("nua build of a broken app: exit %d\n%s", code, got)
	}
	if _, err := os.Stat(filepath.Join(out, "slug", "bin", "rustapp")); err != nil {
		t.Fatalf("a failed build replaced the previous slug: %v", err)
	}
	if entries, _ := filepath.Glob(filepath.Join(out, ".build-*")); len(entries) != 0 {
		t.Fatalf("a failed build left %v", entries)
	}
}

// mustPush pushes repo to app, which must succeed with every line of want
// in its output, and returns the output.
func mustPush(t *testing.T, s *testutil.Server, repo, app string, want ...string) string {
	t.Helper()
	out, code := s.Push(repo, app, "main")
	if code != 0 {
		t.Fatalf("push %s: exit %d\n%s\nserver log:\n%s", app, code, out, s.Log())
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("push %s: output lacks %q", app, w)
		}
	}
	if t.Failed() {
		t.Fatalf("push output:\n%s", out)
	}
	return out
}

// mustAnswer checks that app answers 200 with want in the body; context
// says what led there.
func mustAnswer(t *testing.T, s *testutil.Server, app, want, context string) {
	t.Helper()
	if status, body := s.Get(app, "/"); status != 200 || !strings.Contains(body, want) {
		t.Fatalf("GET %s/ = %d %q, want 200 with %q\n%s", app, status, body, want, context)
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// editRust changes the Rust sample's default greeting and commits it.
func editRust(t *testing.T, repo, from, to string) {
	t.Helper()
	line := func(g string) string { return `const DEFAULT_GREETING: &str = "` + g + `";` }
	src := readFile(t, repo, "src/main.rs")
	out := strings.Replace(src, line(from), line(to), 1)
	if out == src {
		t.Fatalf("src/main.rs has no %q", line(from))
	}
	testutil.Commit(t, repo, "src/main.rs", out)
}
