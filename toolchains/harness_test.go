package toolchains_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/internal/testutil"
	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/toolchains"
	"github.com/nua-paas/nua/toolchains/cnb"
	"github.com/nua-paas/nua/toolchains/docker"
)

// appsDir holds the sample apps that every toolchain is checked against.
const appsDir = "../testdata/apps"

// nuaProgram is where the builds are told nua is: the commands they
// generate run it by this path.
const nuaProgram = "/usr/lib/nua/bin/nua"

// samples is what each sample app must build to. Every toolchain must
// detect exactly its own samples.
var samples = []struct {
	app       string
	buildpack string            // Name of the toolchain that detects it; "" = none
	procs     map[string]string // process types after the build
	errIs     error             // the build fails with this error
	errText   string            // ... and this text in its message
	output    []string          // lines the build output must contain
	warm      string            // a line only a rebuild with a warm cache prints
	needs     string            // a tool the build needs; skipped without it
	run       func(t *testing.T, slug string, procs map[string]string)
	missing   string // the error of a build on a host without the runtime
}{
	{
		app:       "goapp",
		buildpack: "Go",
		procs:     map[string]string{"web": "bin/goapp"},
		output:    []string{"-----> Go app detected\n", "       Installed bin/goapp\n", "       Default types for buildpack -> web\n"},
		run:       runGoApp,
		missing:   "go not found on PATH: install Go 1.26",
	},
	{
		app:       "gopinned",
		buildpack: "Go",
		procs:     map[string]string{"web": "bin/gopinned"},
		output:    []string{"-----> Using go1.25.5 (go.mod: go 1.25, toolchain go1.25.5), ", "nua's runtime cache\n", "       Installed bin/gopinned\n"},
		needs:     "go",
		run: func(t *testing.T, slug string, procs map[string]string) {
			port := freePort(t)
			startApp(t, slug, procs["web"], "PORT="+port)
			if got, want := mustGet(t, "http://127.0.0.1:"+port+"/"), "hello from gopinned built by go1.25.5\n"; got != want {
				t.Fatalf("GET / = %q, want %q", got, want)
			}
		},
	},
	{
		app:       "rubyapp",
		buildpack: "Ruby",
		procs:     map[string]string{"web": "bundle exec ruby server.rb"},
		output: []string{
			"-----> Ruby app detected\n", "-----> Using ruby 3.", " (.ruby-version: 3.1)\n",
			"       bundle install (deployment mode, without development:test)\n",
			"       Bundle complete! 0 Gemfile dependencies", "       Procfile declares types -> web\n",
		},
		run:     runRubyApp,
		warm:    "       Gemfile.lock unchanged: skipping bundle install, reusing the cached gems\n",
		missing: "ruby not found on PATH (found: none, wanted: Ruby 3.1 (.ruby-version)): install Ruby on the server (apt-get install ruby ruby-bundler)",
	},
	{
		app:       "rustapp",
		buildpack: "Rust",
		procs:     map[string]string{"web": "bin/rustapp"},
		output: []string{
			"-----> Rust app detected\n", "-----> Compiling with cargo build --release\n",
			"       Installed bin/rustapp\n", "       Default types for buildpack -> web\n",
		},
		run:     runRustApp,
		warm:    "       Reusing the target dir of the previous build: only changes recompile\n",
		missing: "cargo not found on PATH (found: none, wanted: Rust any): install Rust on the server (apt-get install cargo, or rustup)",
	},
	{
		app:       "nodeapp",
		buildpack: "Node.js",
		procs:     map[string]string{"web": "npm start"},
		output: []string{
			"-----> Node.js app detected\n", "-----> Using node v",
			"-----> Installing dependencies\n", "       npm ci --no-audit --no-fund --prefer-offline\n",
			"-----> Running build script\n", "       wrote build/info.txt\n", "       Default types for buildpack -> web\n",
		},
		warm: "       Lockfile unchanged: reusing node_modules\n",
		run:  runNodeApp,
	},
	{
		app:       "node18",
		buildpack: "Node.js",
		procs:     map[string]string{"web": "npm start"},
		output: []string{
			"-----> Using node 18.", " (engines.node in package.json: 18.x), ", "nua's runtime cache\n",
			"       Using npm ", "       npm ci --no-audit --no-fund --prefer-offline\n", "       wrote built.txt\n",
		},
		run: runProvided("node18", "v18.", "npm/"),
	},
	{
		app:       "node-yarn",
		buildpack: "Node.js",
		procs:     map[string]string{"web": "npm start"},
		output:    []string{"       Using yarn 1.", "       yarn install --frozen-lockfile --non-interactive\n", "       yarn run build\n"},
		needs:     "node",
		run:       runProvided("node-yarn", "v", "yarn/1."),
	},
	{
		app:       "node-pnpm",
		buildpack: "Node.js",
		procs:     map[string]string{"web": "npm start"},
		output:    []string{"       Using pnpm 8.15.9, ", "       pnpm install --frozen-lockfile\n", "       pnpm run build\n"},
		needs:     "node",
		run:       runProvided("node-pnpm", "v", "pnpm/8.15.9"),
	},
	{
		app:       "pyapp",
		buildpack: "Python",
		procs:     map[string]string{"web": "python app.py"},
		output: []string{
			"-----> Python app detected\n", "-----> Using Python 3.",
			"-----> Installing requirements with pip\n", "       pip install --no-input --progress-bar off -r requirements.txt\n",
			"       No Procfile: app.py runs as the web process (python app.py); it must listen on $PORT\n",
		},
		warm: "       Requirements unchanged: reusing the virtualenv\n",
		run:  runPyApp,
	},
	{
		app:       "static",
		buildpack: "Static",
		procs:     map[string]string{"web": nuaProgram + " serve-static"},
		output:    []string{"-----> Static app detected\n", "       Default types for buildpack -> web\n"},
	},
	{
		app:       "procfile",
		buildpack: "Procfile",
		procs:     map[string]string{"web": "exec perl server.pl", "worker": "exec sh worker.sh"},
		output:    []string{"-----> Procfile app detected\n", "       Procfile declares types -> web, worker\n"},
		run:       runProcfileApp,
	},
	{
		app:       "broken-go",
		buildpack: "Go",
		errText:   "build Go app: go build: exit status 1",
		output:    []string{"       ./main.go:8:17: cannot use \"5000\" (untyped string constant) as int value"},
	},
	{
		app:       "broken-node",
		buildpack: "Node.js",
		errText:   "build Node.js app: package.json is not valid JSON: line 4, column 1: invalid character '}' looking for beginning of object key string",
	},
	{
		app:       "broken-python",
		buildpack: "Python",
		errText:   "build Python app: Pipfile is not supported yet: use requirements.txt",
	},
	{
		app:       "broken-ruby",
		buildpack: "Ruby",
		errText:   "build Ruby app: bundle install: exit status 16",
		output:    []string{"       You are trying to install in deployment mode after changing\n"},
	},
	{
		app:       "broken-rust",
		buildpack: "Rust",
		errText:   "build Rust app: cargo build: error: ",
		output:    []string{"Cargo.toml"},
	},
	{
		app:       "nixapp",
		buildpack: "Nix",
		procs:     map[string]string{"web": "result/bin/nixapp"},
		output:    []string{"-----> Nix app detected\n", "       Programs: result/bin/nixapp\n", "       Default types for buildpack -> web\n"},
		needs:     "nix",
		run:       runNixApp,
	},
	{
		app:       "nixdefault",
		buildpack: "Nix",
		errIs:     buildpacks.ErrNoProcess,
		output:    []string{"       Programs: result/bin/server, result/bin/worker\n", " !     Several programs in result/bin: declare the web process in a Procfile\n"},
		needs:     "nix",
	},
	{
		app:       "broken-nix",
		buildpack: "Nix",
		errText:   "build Nix app: nix build: exit status 1",
		output:    []string{"       error: syntax error, unexpected ';'"},
		needs:     "nix",
	},
	{
		app:       "dockerapp",
		buildpack: "Dockerfile",
		procs:     map[string]string{"web": "exec " + nuaProgram + " container-run web"},
		output:    []string{"-----> Dockerfile app detected\n", "       Each process runs in a container of image "},
		needs:     "engine",
	},
	{
		app:       "broken-docker",
		buildpack: "Dockerfile",
		errText:   "build Dockerfile app: docker build: ",
		output:    []string{"       nua-broken-step-output\n"},
		needs:     "engine",
	},
	{
		app:       "cnbapp",
		buildpack: "Cloud Native Buildpacks",
		procs:     map[string]string{"web": "exec " + nuaProgram + " container-run web", "worker": "exec " + nuaProgram + " container-run worker"},
		output:    []string{"-----> Cloud Native Buildpacks app detected\n", "       Builder: nua-cnb-builder:local\n", "; process types: web, worker\n"},
		warm:      "       reusing the cached stamp layer\n",
		needs:     "cnb",
	},
	{
		app:       "broken-cnb",
		buildpack: "Cloud Native Buildpacks",
		errText:   "build Cloud Native Buildpacks app: builder not trusted: builder nua-no-such-builder:local is not trusted on this server: an admin trusts it with `builders:trust nua-no-such-builder:local`",
		output:    []string{"       nua-cnb: builder not trusted: builder nua-no-such-builder:local is not trusted on this server"},
		needs:     "cnb",
	},
	{
		app:   "empty",
		errIs: buildpacks.ErrNoApp,
		errText: "no app detected: nua looks for go.mod (Go), package.json (Node.js), requirements.txt, pyproject.toml, setup.py or Pipfile (Python), " +
			"Gemfile (Ruby), Cargo.toml (Rust), flake.nix or default.nix (Nix), a project.toml (Cloud Native Buildpacks), a Dockerfile (Docker), index.html (static site) or a Procfile",
	},
}

func TestDetect(t *testing.T) {
	for _, s := range samples {
		for _, bp := range toolchains.Builtin(toolchains.Config{}) {
			t.Run(s.app+"/"+bp.Name(), func(t *testing.T) {
				got, err := bp.Detect(filepath.Join(appsDir, s.app))
				if err != nil {
					t.Fatalf("Detect: %v", err)
				}
				// The Procfile toolchain comes last and takes any app
				// with a Procfile that nothing before it detected.
				_, perr := os.Stat(filepath.Join(appsDir, s.app, "Procfile"))
				if want := bp.Name() == s.buildpack || (bp.Name() == "Procfile" && perr == nil); got != want {
					t.Fatalf("%s.Detect(%s)=%v, want %v", bp.Name(), s.app, got, want)
				}
			})
		}
	}
}

func TestBuildSamples(t *testing.T) {
	for _, s := range samples {
		t.Run(s.app, func(t *testing.T) {
			t.Parallel()
			needTool(t, s.needs)
			slug := copyApp(t, s.app)
			t.Cleanup(func() { newBuilder().Remove(context.Background(), slug) })
			var out bytes.Buffer
			res, err := newBuilder().Build(t.Context(), slug, mustCache(t), nil, nil, &out)
			t.Logf("build output:\n%s", out.String())
			for _, line := range s.output {
				if !strings.Contains(out.String(), line) {
					t.Errorf("output lacks %q", line)
				}
			}
			if s.errText != "" || s.errIs != nil {
				if err == nil || !strings.Contains(err.Error(), s.errText) || (s.errIs != nil && !errors.Is(err, s.errIs)) {
					t.Fatalf("Build: %v, want an error with %q", err, s.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if res.Buildpack != s.buildpack || !maps.Equal(res.Processes, s.procs) {
				t.Fatalf("Build: %s %v, want %s %v", res.Buildpack, res.Processes, s.buildpack, s.procs)
			}
			if got, want := res.Types, slices.Sorted(maps.Keys(s.procs)); !slices.Equal(got, want) {
				t.Fatalf("Types=%v, want %v", got, want)
			}
			if s.run != nil {
				// Deploys build in a temporary dir and rename it to its
				// release dir: the slug must run where it is moved to.
				moved := slug + "-v1"
				if err := os.Rename(slug, moved); err != nil {
					t.Fatal(err)
				}
				s.run(t, moved, res.Processes)
			}
		})
	}
}

// TestDetectionOrder checks that an app of a language toolchain with an
// index.html builds with its language, not as a static site.
func TestDetectionOrder(t *testing.T) {
	for _, tt := range []struct{ app, want string }{{"nodeapp", "Node.js"}, {"pyapp", "Python"}} {
		t.Run(tt.app, func(t *testing.T) {
			src := copyApp(t, tt.app)
			write(t, filepath.Join(src, "index.html"), "<h1>not a static site</h1>\n")
			var out bytes.Buffer
			res, err := newBuilder().Build(t.Context(), src, mustCache(t), nil, nil, &out)
			if err != nil {
				t.Fatalf("Build: %v\n%s", err, out.String())
			}
			if res.Buildpack != tt.want {
				t.Fatalf("Buildpack=%q, want %q", res.Buildpack, tt.want)
			}
		})
	}
}

// TestBuildProcfileOverridesGo checks that a Go app's Procfile wins over
// the Go toolchain's default web process.
func TestBuildProcfileOverridesGo(t *testing.T) {
	slug := copyApp(t, "goapp")
	write(t, filepath.Join(slug, "Procfile"), "web: bin/goapp --verbose\nworker: bin/goapp worker\n")
	res, err := newBuilder().Build(t.Context(), slug, mustCache(t), nil, nil, io.Discard)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	want := map[string]string{"web": "bin/goapp --verbose", "worker": "bin/goapp worker"}
	if res.Buildpack != "Go" || !maps.Equal(res.Processes, want) {
		t.Fatalf("Build: %s %v, want Go %v", res.Buildpack, res.Processes, want)
	}
}

// TestBuildBadProcfileFirst checks that a bad Procfile fails the push
// before anything is compiled.
func TestBuildBadProcfileFirst(t *testing.T) {
	slug := copyApp(t, "goapp")
	write(t, filepath.Join(slug, "Procfile"), "web bin/goapp\n")
	var out bytes.Buffer
	_, err := newBuilder().Build(t.Context(), slug, mustCache(t), nil, nil, &out)
	if !errors.Is(err, procman.ErrProcfile) || !strings.Contains(err.Error(), "Procfile line 1") {
		t.Fatalf("Build: %v, want a Procfile error naming line 1", err)
	}
	if _, err := os.Stat(filepath.Join(slug, "bin")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bin exists after a bad Procfile (stat: %v)", err)
	}
	if out.Len() != 0 {
		t.Fatalf("build output before the Procfile check: %q", out.String())
	}
}

// TestGoColdWarm builds the Go sample twice with the same cache and logs
// both times. A truly cold cache compiles the standard library, which takes
// about a minute on two cores, so it only runs with NUA_COLD_BUILD=1;
// otherwise the cache's go-build shares the host's build cache.
func TestGoColdWarm(t *testing.T) {
	cache := t.TempDir()
	cold := os.Getenv("NUA_COLD_BUILD") != ""
	if !cold {
		linkHostGoCache(t, cache)
	}
	var times []time.Duration
	for i := range 2 {
		slug := copyApp(t, "goapp")
		start := time.Now()
		if _, err := newBuilder().Build(t.Context(), slug, cache, nil, nil, io.Discard); err != nil {
			t.Fatalf("build %d: %v", i+1, err)
		}
		times = append(times, time.Since(start))
	}
	entries, err := os.ReadDir(filepath.Join(cache, "go-build"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("go build cache not populated: %d entries, %v", len(entries), err)
	}
	t.Logf("goapp build with a cache that is %s: first %s, rebuild %s",
		map[bool]string{true: "cold", false: "shared with the host"}[cold], times[0], times[1])
}

// runGoApp runs the built Go sample: config reaches it, it answers HTTP on
// PORT, stops cleanly on SIGTERM and exits 1 on /crash. It runs the binary
// itself, not through sh, to see the app's own exit status.
func runGoApp(t *testing.T, slug string, procs map[string]string) {
	bin := []string{filepath.Join(slug, procs["web"])}
	port := freePort(t)
	cmd, _ := startArgs(t, slug, bin, "PORT="+port, "GREETING=tests", "NUA_SAMPLE=config-reached")
	base := "http://127.0.0.1:" + port
	if got, want := mustGet(t, base+"/"), "hello from goapp tests\n"; got != want {
		t.Fatalf("GET / = %q, want %q", got, want)
	}
	if got, want := mustGet(t, base+"/env/NUA_SAMPLE"), "config-reached"; got != want {
		t.Fatalf("GET /env/NUA_SAMPLE = %q, want %q", got, want)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("goapp after SIGTERM: %v, want a clean exit", err)
	}

	port = freePort(t)
	cmd, _ = startArgs(t, slug, bin, "PORT="+port)
	mustGet(t, "http://127.0.0.1:"+port+"/")
	http.Get("http://127.0.0.1:" + port + "/crash") //nolint:errcheck // the app dies mid-request
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("goapp after /crash: %v, want exit status 1", err)
	}
}

// runProcfileApp runs both processes of the Procfile sample the way procman
// does (sh -c in the slug).
func runProcfileApp(t *testing.T, slug string, procs map[string]string) {
	port := freePort(t)
	web, _ := start(t, slug, procs["web"], "PORT="+port, "GREETING=tests")
	if got, want := mustGet(t, "http://127.0.0.1:"+port+"/"), "hello from procfile tests\n"; got != want {
		t.Fatalf("GET / = %q, want %q", got, want)
	}
	if err := web.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := web.Wait(); err != nil {
		t.Fatalf("web after SIGTERM: %v, want a clean exit", err)
	}

	_, stdout := start(t, slug, procs["worker"])
	lines := bufio.NewScanner(stdout)
	for i := 1; i <= 2; i++ {
		if !lines.Scan() {
			t.Fatalf("worker output ended: %v", lines.Err())
		}
		if got, want := lines.Text(), fmt.Sprintf("worker tick %d", i); got != want {
			t.Fatalf("worker line %d = %q, want %q", i, got, want)
		}
	}
}

// runNixApp runs the Nix sample's web process from the result link.
func runNixApp(t *testing.T, slug string, procs map[string]string) {
	port := freePort(t)
	web, _ := startArgs(t, slug, []string{filepath.Join(slug, procs["web"])}, "PORT="+port, "GREETING=tests")
	if got, want := mustGet(t, "http://127.0.0.1:"+port+"/"), "hello from nixapp tests\n"; got != want {
		t.Fatalf("GET / = %q, want %q", got, want)
	}
	if err := web.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := web.Wait(); err != nil {
		t.Fatalf("web after SIGTERM: %v, want a clean exit", err)
	}
}

// TestBuildNixProcfile builds a default.nix whose result has two programs
// and runs the processes a Procfile names by their bare names, found on
// PATH through the slug's bin link to result/bin.
func TestBuildNixProcfile(t *testing.T) {
	needTool(t, "nix")
	slug := copyApp(t, "nixdefault")
	t.Cleanup(func() { newBuilder().Remove(context.Background(), slug) })
	write(t, filepath.Join(slug, "Procfile"), "web: exec server\nworker: exec worker\n")
	res, err := newBuilder().Build(t.Context(), slug, mustCache(t), nil, nil, io.Discard)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	procs := map[string]string{"web": "exec server", "worker": "exec worker"}
	if res.Buildpack != "Nix" || !maps.Equal(res.Processes, procs) {
		t.Fatalf("Build: %s %v, want Nix %v", res.Buildpack, res.Processes, procs)
	}
	path := "PATH=" + filepath.Join(slug, "bin") + ":" + os.Getenv("PATH")
	port := freePort(t)
	start(t, slug, procs["web"], "PORT="+port, path)
	if got, want := mustGet(t, "http://127.0.0.1:"+port+"/"), "hello from nixapp world\n"; got != want {
		t.Fatalf("GET / = %q, want %q", got, want)
	}
	_, stdout := start(t, slug, procs["worker"], path)
	if b, _ := io.ReadAll(stdout); string(b) != "nixdefault worker\n" {
		t.Fatalf("worker printed %q", b)
	}
}

// needTool skips the test when tool is not installed ("engine": when no
// Docker Engine API answers at DOCKER_HOST; "cnb": when nua-cnb is missing
// too), unless NUA_E2E is "require"
// (as under `make test`, which provides them). A test that needs the
// engine holds it (testutil.LockEngine).
func needTool(t *testing.T, tool string) {
	t.Helper()
	var err error
	switch tool {
	case "":
		return
	case "engine":
		err = docker.New().Available(t.Context())
	case "cnb":
		err = cnb.New().Available(t.Context())
	default:
		_, err = exec.LookPath(tool)
	}
	if err != nil {
		msg := fmt.Sprintf("skipped: %v: run `make test`, which installs nix and podman and starts podman's Docker API", err)
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if tool == "engine" || tool == "cnb" {
		testutil.LockEngine(t)
	}
}

// start runs command like procman: /bin/sh -c in the slug, with env. The
// process is killed when the test ends.
func start(t *testing.T, slug, command string, env ...string) (*exec.Cmd, io.Reader) {
	t.Helper()
	return startArgs(t, slug, []string{"/bin/sh", "-c", command}, env...)
}

// startArgs runs argv in the slug, with env, in its own process group.
func startArgs(t *testing.T, slug string, argv []string, env ...string) (*exec.Cmd, io.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stderr = slug, append(os.Environ(), env...), os.Stderr
	// Its own process group, as under procman: the end of the test kills
	// the shell's children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %q: %v", argv, err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait() //nolint:errcheck // already checked or killed
	})
	return cmd, stdout
}

// mustGet polls url until it answers 200 and returns the body.
func mustGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second) // generous: a loaded CI machine starts apps slowly
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(body)
			}
			err = fmt.Errorf("status %s, body %q, %v", resp.Status, body, rerr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// runtimesDir is the machine's cache of the runtimes nua provides (Node.js
// versions, npm, yarn, pnpm from the npm registry), kept between test runs
// as a server keeps its own: only the first run downloads.
var runtimesDir = func() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "nua", "runtimes")
}()

func newBuilder() *buildpacks.Builder {
	return buildpacks.New(toolchains.Builtin(toolchains.Config{
		PythonSeeds: pythonSeeds, Nua: nuaProgram, RuntimesDir: runtimesDir,
		TrustedBuilders: func() ([]string, error) { return []string{"nua-cnb-builder:local"}, nil },
	}), buildpacks.WithTimeout(5*time.Minute))
}

// copyApp copies sample app to a fresh dir, since builds work in place.
func copyApp(t *testing.T, app string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), app)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(appsDir, app))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// mustCache returns an app cache dir whose Go build cache is the host's, so
// tests do not compile the standard library again (TestGoColdWarm measures
// that).
func mustCache(t *testing.T) string {
	t.Helper()
	cache := t.TempDir()
	linkHostGoCache(t, cache)
	return cache
}

func linkHostGoCache(t *testing.T, cache string) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	if err := os.Symlink(strings.TrimSpace(string(out)), filepath.Join(cache, "go-build")); err != nil {
		t.Fatal(err)
	}
}

func write(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestBuiltinOrder(t *testing.T) {
	var got []string
	for _, bp := range toolchains.Builtin(toolchains.Config{}) {
		got = append(got, bp.Name())
	}
	if want := []string{"Go", "Node.js", "Python", "Ruby", "Rust", "Nix", "Cloud Native Buildpacks", "Dockerfile", "Static", "Procfile"}; !slices.Equal(got, want) {
		t.Fatalf("Builtin()=%v, want %v", got, want)
	}
}

// TestBuildDockerProcfile checks that a Dockerfile app's Procfile entries
// run in its containers: every process type becomes a container-run, and
// the slug's manifest, beside the slug, keeps the Procfile's commands for
// the container.
func TestBuildDockerProcfile(t *testing.T) {
	needTool(t, "engine")
	slug := copyApp(t, "dockerapp")
	t.Cleanup(func() { newBuilder().Remove(context.Background(), slug) })
	write(t, filepath.Join(slug, "Procfile"), "worker: echo worker; sleep 600\n")
	res, err := newBuilder().Build(t.Context(), slug, mustCache(t), nil, nil, io.Discard)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	want := map[string]string{"web": "exec " + nuaProgram + " container-run web", "worker": "exec " + nuaProgram + " container-run worker"}
	if res.Buildpack != "Dockerfile" || !maps.Equal(res.Processes, want) {
		t.Fatalf("Build: %s %v, want Dockerfile %v", res.Buildpack, res.Processes, want)
	}
	if _, err := os.Stat(filepath.Join(slug, docker.ManifestFile)); err == nil {
		t.Errorf("the manifest is in the slug, which its app writes")
	}
	b, err := os.ReadFile(filepath.Join(buildpacks.MetaDir(slug), docker.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m docker.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if got := map[string]string{"worker": "echo worker; sleep 600"}; !maps.Equal(m.Commands, got) || m.Image == "" {
		t.Fatalf("manifest = %+v, want the image and the worker's command only", m)
	}
}

// TestCNBProjectBuildpacksRefused checks that a project.toml whose
// buildpack is a path on the server's disk fails the build before pack
// reads it, saying why.
func TestCNBProjectBuildpacksRefused(t *testing.T) {
	needTool(t, "cnb")
	slug := copyApp(t, "cnbapp")
	b, err := os.ReadFile(filepath.Join(slug, "project.toml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(slug, "project.toml"), string(b)+"\n[[io.buildpacks.group]]\nuri = \"file:///etc\"\n")
	var out bytes.Buffer
	_, err = newBuilder().Build(t.Context(), slug, mustCache(t), nil, nil, &out)
	want := "build Cloud Native Buildpacks app: project.toml buildpack file:///etc: bad buildpack URL: this server takes no buildpack from its own disk"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Build: %v, want %q\n%s", err, want, out.String())
	}
}

// TestBuildIgnoresDockerfileBesideGoMod builds a Go app that ships a
// Dockerfile for other platforms, as many do: the Go toolchain builds it,
// with no container engine, and the build says what it ignored.
func TestBuildIgnoresDockerfileBesideGoMod(t *testing.T) {
	needTool(t, "go")
	slug := copyApp(t, "goapp")
	write(t, filepath.Join(slug, "Dockerfile"), "FROM golang:1.26\nCOPY . /app\nRUN go build -o /app/server /app\nCMD [\"/app/server\"]\n")
	var out bytes.Buffer
	res, err := newBuilder().Build(t.Context(), slug, mustCache(t), nil, nil, &out)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, out.String())
	}
	if res.Buildpack != "Go" {
		t.Fatalf("built by %s, want Go\n%s", res.Buildpack, out.String())
	}
	if want := "a Dockerfile ignored: the Go buildpack builds the app; NUA_BUILDER=docker builds with it"; !strings.Contains(out.String(), want) {
		t.Fatalf("build output lacks %q:\n%s", want, out.String())
	}
}
