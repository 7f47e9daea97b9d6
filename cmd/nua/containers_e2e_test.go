package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/nua-paas/nua/internal/testutil"
)

// needBackend skips a test whose build backend's tool is missing, saying
// how to get it, unless NUA_E2E=require (as under `make test`, which
// installs it), when it fails.
func needBackend(t *testing.T, tool, how string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		msg := fmt.Sprintf("skipped: %s is missing: %s", tool, how)
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// TestE2ENix pushes the Nix sample app (a flake), redeploys it twice under
// a steady request loop, checks that a pruned release's store path is
// deleted while the live one is a GC root, and that a flake that does not
// evaluate fails the push with Nix's error while the app keeps serving.
func TestE2ENix(t *testing.T) {
	t.Parallel()
	needBackend(t, "nix", "run `make deps` (apt-get install nix-bin, and the nixbld group)")
	s := testutil.StartServer(t, "--keep-releases", "2")
	repo := testutil.NewRepo(t, "nixapp")
	out := mustPush(t, s, repo, "app")
	for _, want := range []string{"remote: -----> Nix app detected", "remote:        Programs: result/bin/nixapp"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	if status, body := s.Get("app", "/"); status != 200 || body != "hello from nixapp world\n" {
		t.Fatalf("GET / = %d %q, want the Nix sample", status, body)
	}
	first := storePath(t, s, 1)

	var failed, total atomic.Int64
	stop := hammer(s, "app", &failed, &total)
	greeting := "world"
	for i := range 2 {
		next := fmt.Sprintf("round%d", i)
		b, err := os.ReadFile(filepath.Join(repo, "server.pl"))
		if err != nil {
			t.Fatal(err)
		}
		testutil.Commit(t, repo, "server.pl", strings.Replace(string(b), "|| '"+greeting+"'", "|| '"+next+"'", 1))
		greeting = next
		mustPush(t, s, repo, "app")
		if status, body := s.Get("app", "/"); status != 200 || body != "hello from nixapp "+greeting+"\n" {
			t.Fatalf("GET / after redeploy %d = %d %q", i+1, status, body)
		}
	}
	stop()
	if failed.Load() != 0 || total.Load() < 10 {
		t.Fatalf("%d of %d requests failed during the Nix redeploys", failed.Load(), total.Load())
	}
	t.Logf("%d requests, none failed, during 2 Nix redeploys", total.Load())

	if _, err := os.Stat(first); err == nil {
		t.Errorf("v1's store path %s outlived its pruned release", first)
	}
	live := filepath.Join(s.Data, "apps", "app", "releases", "v3", "result")
	if !isGCRoot(t, live) {
		t.Errorf("%s is not a Nix GC root", live)
	}

	broken, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "apps", "broken-nix", "flake.nix"))
	if err != nil {
		t.Fatal(err)
	}
	testutil.Commit(t, repo, "flake.nix", string(broken))
	out, code := s.Push(repo, "app", "main")
	if code == 0 || !strings.Contains(out, "remote:        error: syntax error, unexpected ';'") {
		t.Fatalf("push of a broken flake: exit %d, want failure with Nix's error:\n%s", code, out)
	}
	if status, body := s.Get("app", "/"); status != 200 || body != "hello from nixapp "+greeting+"\n" {
		t.Fatalf("GET / after the failed push = %d %q, want the running release", status, body)
	}
}

// storePath is the store path release v's result link points at.
func storePath(t *testing.T, s *testutil.Server, v int) string {
	t.Helper()
	p, err := os.Readlink(filepath.Join(s.Data, "apps", "app", "releases", fmt.Sprintf("v%d", v), "result"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// isGCRoot reports whether Nix lists link as a GC root.
func isGCRoot(t *testing.T, link string) bool {
	t.Helper()
	out, err := exec.Command("nix-store", "--gc", "--print-roots").Output()
	if err != nil {
		t.Fatalf("nix-store --gc --print-roots: %v", err)
	}
	return strings.Contains(string(out), link+" -> ")
}

// needEngine skips a test when no Docker Engine API answers at DOCKER_HOST
// (make test starts podman's), unless NUA_E2E=require, when it fails; else
// the test holds the engine until it ends.
func needEngine(t *testing.T) *engine {
	t.Helper()
	e := &engine{host: os.Getenv("DOCKER_HOST")}
	if e.host == "" || e.ping() != nil {
		msg := "skipped: no Docker Engine API at DOCKER_HOST=" + e.host + ": run `make test` (its `containers` target installs podman and starts its API service), or point DOCKER_HOST at one"
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	testutil.LockEngine(t) // the image checks see this test's images only
	return e
}

// TestE2EDockerfile pushes the Dockerfile sample app, checks each instance
// runs as a container publishing its port on 127.0.0.1 only with the app's
// config, no capability and its memory limit, redeploys under a steady request loop, scales, restarts, stops
// and starts it, and checks that a
// Dockerfile that fails to build, or whose process listens where the engine
// cannot reach it, fails
// the push while the app keeps serving, and that a killed daemon and a
// destroyed app leave no container and no image behind.
func TestE2EDockerfile(t *testing.T) {
	t.Parallel()
	e := needEngine(t)
	s := testutil.StartServer(t, "--keep-releases", "2", "--boot-timeout", "10s")
	const app = "dockerapp"
	t.Cleanup(func() { e.removeAll(app) })
	repo := testutil.NewRepo(t, "dockerapp")
	out := mustPush(t, s, repo, app)
	for _, want := range []string{"remote: -----> Dockerfile app detected", "remote:        Each process runs in a container"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	if status, body := s.Get(app, "/"); status != 200 || body != "hello from dockerapp world\n" {
		t.Fatalf("GET / = %d %q, want the Dockerfile sample", status, body)
	}
	if got := e.containers(t, app); len(got) != 1 || !strings.Contains(got[0], "127.0.0.1:") {
		t.Fatalf("containers of %s = %q, want one publishing on 127.0.0.1", app, got)
	}
	e.checkConfined(t, s, app)
	testutil.Eventually(t, 10*time.Second, "container output in logs", func() (bool, string) {
		out, _ := s.SSH(nil, "logs", app, "-n", "50")
		return strings.Contains(out, "app[web.1]: dockerapp web listening on :"), out
	})

	addPlatformLookalikes(t, repo) // pushed with the redeploy: they change nothing
	e.redeployUnderLoad(t, s, repo, app, 1)
	if status, body := s.Get(app, "/"); status != 200 || body != "hello from dockerapp config\n" {
		t.Fatalf("GET / after the redeploy = %d %q, want the config reaching the container", status, body)
	}
	checkLookalikesIgnored(t, s, app)

	broken, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "apps", "broken-docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	images := e.images(t)
	testutil.Commit(t, repo, "Dockerfile", string(broken))
	out, code := s.Push(repo, app, "main")
	if code == 0 || !strings.Contains(out, "remote:        nua-broken-step-output") {
		t.Fatalf("push of a failing Dockerfile: exit %d, want failure with the step's output:\n%s", code, out)
	}
	if status, body := s.Get(app, "/"); status != 200 || body != "hello from dockerapp config\n" {
		t.Fatalf("GET / after the failed push = %d %q, want the running release", status, body)
	}
	if got := e.images(t); got != images {
		t.Errorf("images after a failed build:\n%s\nwant as before:\n%s", got, images)
	}

	// An image whose process listens on 127.0.0.1 inside its container,
	// out of the engine's reach, never gets traffic; the push says what
	// to do, and its container and image go.
	testutil.Commit(t, repo, "Dockerfile", "FROM nua-busybox:local\nCMD httpd -f -p 127.0.0.1:$PORT\n")
	out, code = s.Push(repo, app, "main")
	if code == 0 || !strings.Contains(out, "did not listen on PORT") || !strings.Contains(out, "inside its container the web process must listen on 0.0.0.0:$PORT") {
		t.Fatalf("push of an image that never listens: exit %d, want failure:\n%s", code, out)
	}
	if status, body := s.Get(app, "/"); status != 200 || body != "hello from dockerapp config\n" {
		t.Fatalf("GET / after the failed push = %d %q, want the running release", status, body)
	}
	testutil.Eventually(t, 30*time.Second, "only the live container and image left", func() (bool, string) {
		got := e.containers(t, app)
		return len(got) == 1 && e.images(t) == images, strings.Join(got, "\n") + "\n" + e.images(t)
	})

	// A one-off command runs in a container of the release's image, with
	// the app's config, and its exit status comes back.
	out, code = s.SSH(nil, "run", app, "sh", "-c", "'cat /www/cgi-bin/index.cgi >/dev/null && echo run sees $GREETING; exit 7'")
	if code != 7 || !strings.Contains(out, "run sees config") {
		t.Fatalf("run: exit %d, want 7 and the container's output:\n%s", code, out)
	}
	// Its stdin is the caller's; with ssh -t it has a terminal.
	out, code = s.CLI(strings.NewReader("from stdin\n"), "run", app, "sh", "-c", "read x; echo got $x")
	if code != 0 || !strings.Contains(out, "got from stdin") {
		t.Fatalf("run reading stdin: exit %d\n%s", code, out)
	}
	// ssh runs on a terminal of 33 rows and 111 columns, as a user's would.
	ptmx, err := pty.StartWithSize(sshCmd(s, "-t", "run", app, "sh", "-c", "'tty; stty size'"), &pty.Winsize{Rows: 33, Cols: 111})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(ptmx) // until ssh exits (EIO)
	ptmx.Close()
	if !strings.Contains(string(b), "/dev/pts/") || !strings.Contains(string(b), "33 111") {
		t.Fatalf("run with ssh -t: want a terminal of the caller's size, 33 111:\n%s", b)
	}

	// Scale, restart, stop and start act on containers as on processes.
	for _, step := range []struct {
		args []string
		n    int // the app's containers afterwards
	}{
		{[]string{"ps:scale", app, "web=2"}, 2},
		{[]string{"restart", app}, 2},
		{[]string{"ps:scale", app, "web=1"}, 1},
		{[]string{"ps:stop", app}, 0},
		{[]string{"ps:start", app}, 1},
	} {
		if out, code := s.SSH(nil, step.args...); code != 0 {
			t.Fatalf("%s: exit %d\n%s", step.args[0], code, out)
		}
		testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%d container(s) after %s", step.n, step.args[0]), func() (bool, string) {
			got := e.containers(t, app)
			return len(got) == step.n, strings.Join(got, "\n")
		})
		if step.n > 0 {
			if status, body := s.Get(app, "/"); status != 200 || body != "hello from dockerapp config\n" {
				t.Fatalf("GET / after %s = %d %q", step.args[0], status, body)
			}
		}
	}

	// A crashed daemon leaves no container behind; a restarted one runs the
	// app again.
	s.Kill()
	testutil.Eventually(t, 30*time.Second, "no container left after the daemon died", func() (bool, string) {
		got := e.containers(t, app)
		return len(got) == 0, strings.Join(got, "\n")
	})
	s.Start()
	testutil.Eventually(t, 30*time.Second, "the app back after a restart", func() (bool, string) {
		status, body := s.Get(app, "/")
		return status == 200 && body == "hello from dockerapp config\n", body
	})

	e.destroy(t, s, app)
}

// engine is the Docker Engine API the tests check, through its HTTP API.
type engine struct{ host string }

// redeployUnderLoad sets GREETING=config and pushes a new commit of repo
// while a client requests app without pause: no request may fail, and
// the old containers go, leaving n. It returns the push's output.
func (e *engine) redeployUnderLoad(t *testing.T, s *testutil.Server, repo, app string, n int) string {
	t.Helper()
	var failed, total atomic.Int64
	stop := hammer(s, app, &failed, &total)
	if out, code := s.SSH(nil, "config:set", app, "GREETING=config"); code != 0 {
		t.Fatalf("config:set: exit %d\n%s", code, out)
	}
	testutil.Commit(t, repo, "NOTES", "a redeploy\n")
	out := mustPush(t, s, repo, app)
	stop()
	if failed.Load() != 0 || total.Load() < 10 {
		t.Fatalf("%d of %d requests failed during the redeploys", failed.Load(), total.Load())
	}
	t.Logf("%d requests, none failed, during a config change and a redeploy", total.Load())
	testutil.Eventually(t, 30*time.Second, "old containers gone", func() (bool, string) {
		got := e.containers(t, app)
		return len(got) == n, strings.Join(got, "\n")
	})
	return out
}

// destroy destroys app and checks that none of its containers and none of
// its images is left.
func (e *engine) destroy(t *testing.T, s *testutil.Server, app string) {
	t.Helper()
	if out, code := s.SSH(nil, "apps:destroy", app, "--confirm", app); code != 0 {
		t.Fatalf("apps:destroy: exit %d\n%s", code, out)
	}
	testutil.Eventually(t, 30*time.Second, "no container left", func() (bool, string) {
		got := e.containers(t, app)
		return len(got) == 0, strings.Join(got, "\n")
	})
	if got := e.images(t); strings.Contains(got, "nua/"+app+":") || strings.Contains(got, "nua-build/"+app+"-") {
		t.Errorf("images of %s after apps:destroy:\n%s\nserver log:\n%s", app, got, s.Log())
	}
}

func (e *engine) client() *http.Client {
	sock := strings.TrimPrefix(e.host, "unix://")
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
}

func (e *engine) get(path string, out any) error {
	resp, err := e.client().Get("http://docker/v1.41" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (e *engine) ping() error { return e.get("/_ping", nil) }

// removeAll removes what a failed test may leave of app: its containers
// and its release images.
func (e *engine) removeAll(app string) {
	var cs []struct {
		ID string `json:"Id"`
	}
	e.get(`/containers/json?all=1&filters={"label":["nua.app=`+app+`"]}`, &cs)
	for _, c := range cs {
		e.del("/containers/" + c.ID + "?force=1")
	}
	var is []struct{ RepoTags []string }
	e.get("/images/json", &is)
	for _, i := range is {
		for _, tag := range i.RepoTags {
			if strings.Contains(tag, "nua/"+app+":") || strings.Contains(tag, "nua-build/"+app+"-") {
				e.del("/images/" + tag)
			}
		}
	}
}

func (e *engine) del(path string) {
	req, _ := http.NewRequest("DELETE", "http://docker/v1.41"+path, nil)
	if resp, err := e.client().Do(req); err == nil {
		resp.Body.Close()
	}
}

// containers lists app's containers, running or not, with their ports.
func (e *engine) containers(t *testing.T, app string) []string {
	t.Helper()
	var cs []struct {
		Names []string
		Ports []struct {
			IP         string
			PublicPort int
		}
	}
	if err := e.get(`/containers/json?all=1&filters={"label":["nua.app=`+app+`"]}`, &cs); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		line := strings.Join(c.Names, ",")
		for _, p := range c.Ports {
			line += fmt.Sprintf(" %s:%d", p.IP, p.PublicPort)
		}
		out = append(out, line)
	}
	return out
}

// images lists the engine's images, all of them, one per line.
func (e *engine) images(t *testing.T) string {
	t.Helper()
	var is []struct {
		ID       string `json:"Id"`
		RepoTags []string
	}
	if err := e.get("/images/json?all=1", &is); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, i := range is {
		lines = append(lines, i.ID+" "+strings.Join(i.RepoTags, ","))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestE2EBackendMissing checks that an app whose backend cannot run here
// fails the push with one line saying which backend, why and what is
// missing; that `doctor` says so too; and that NUA_BUILDER=native builds
// the same app natively.
func TestE2EBackendMissing(t *testing.T) {
	t.Parallel()
	gone := "unix://" + filepath.Join(t.TempDir(), "no-engine.sock")
	s := testutil.StartServerEnv(t, []string{"DOCKER_HOST=" + gone})
	repo := testutil.NewRepo(t, "procfile")
	testutil.Commit(t, repo, "Dockerfile", "FROM nua-busybox:local\n")
	out, code := s.Push(repo, "app", "main")
	want := "remote:  !     deploy failed: build: build backend unavailable: docker backend chosen (the app has a Dockerfile) but no Docker Engine API answers at " + gone +
		" (dial: connect: no such file or directory): run Docker, or `podman system service`, and point DOCKER_HOST at it; or set NUA_BUILDER=native to build without it"
	if code == 0 || !strings.Contains(out, want) {
		t.Fatalf("push with no Docker API: exit %d, want failure with %q:\n%s", code, want, out)
	}

	out, code = s.SSH(nil, "doctor")
	if code != 0 || !strings.Contains(out, "native   ok") || !strings.Contains(out, "docker   unavailable: no Docker Engine API answers at "+gone) ||
		!strings.Contains(out, "cnb      unavailable: no Docker Engine API answers at "+gone) {
		t.Fatalf("doctor: exit %d, want native ok, docker and cnb unavailable:\n%s", code, out)
	}

	if out, code := s.SSH(nil, "config:set", "app", "NUA_BUILDER=native"); code != 0 {
		t.Fatalf("config:set: exit %d\n%s", code, out)
	}
	out = mustPush(t, s, repo, "app")
	if !strings.Contains(out, "remote: -----> Procfile app detected") {
		t.Fatalf("push with NUA_BUILDER=native did not build natively:\n%s", out)
	}
	if status, body := s.Get("app", "/"); status != 200 || !strings.Contains(body, "hello from procfile") {
		t.Fatalf("GET / = %d %q, want the natively built app", status, body)
	}

	// A Go app shipping a Dockerfile for other platforms builds natively,
	// with no engine, as on Heroku, and the push says what it ignored.
	goRepo := testutil.NewRepo(t, "goapp")
	testutil.Commit(t, goRepo, "Dockerfile", "FROM golang:1.26\nCOPY . /app\nRUN cd /app && go build -o /server .\nCMD [\"/server\"]\n")
	mustPush(t, s, goRepo, "goapp", "remote: -----> Go app detected",
		"remote:        a Dockerfile ignored: the Go buildpack builds the app; NUA_BUILDER=docker builds with it")
	if status, body := s.Get("goapp", "/"); status != 200 || !strings.Contains(body, "hello from goapp") {
		t.Fatalf("GET goapp/ = %d %q, want the natively built app", status, body)
	}
}

// TestE2ECNB pushes the Cloud Native Buildpacks sample app, built by the
// test setup's offline builder through pack once the operator trusts it
// (a push before fails, saying how to trust it); checks its process types come
// from the image, each instance is a container publishing on 127.0.0.1
// only, a redeploy under a steady request loop drops nothing and reuses
// the build cache; that a one-off runs in the image's environment; that a
// project.toml naming a builder that is not trusted, or trusted but not on
// the server, fails the push, saying so, while the app keeps serving,
// unless CNB_BUILDER names one; and that a destroyed app leaves no
// container and no image.
func TestE2ECNB(t *testing.T) {
	t.Parallel()
	e := needEngine(t)
	s := testutil.StartServer(t, "--keep-releases", "2", "--boot-timeout", "20s")
	const app = "cnbapp"
	t.Cleanup(func() { e.removeAll(app) })
	repo := testutil.NewRepo(t, "cnbapp")
	out, code := s.Push(repo, app, "main")
	if want := "remote:  !     deploy failed: build: build Cloud Native Buildpacks app: builder not trusted: builder " + testBuilder +
		" is not trusted on this server: an admin trusts it with `builders:trust " + testBuilder + "`"; code == 0 || !strings.Contains(out, want) {
		t.Fatalf("push with an untrusted builder: exit %d, want %q:\n%s", code, want, out)
	}
	trustBuilder(t, s, testBuilder)
	out = mustPush(t, s, repo, app)
	for _, want := range []string{
		"remote: -----> Cloud Native Buildpacks app detected",
		"remote:        Builder: nua-cnb-builder:local",
		"remote:        httpd buildpack: serving public/",
		"; process types: web, worker",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	get := func(path, want string) {
		t.Helper()
		if status, body := s.Get(app, path); status != 200 || body != want {
			t.Fatalf("GET %s = %d %q, want %q", path, status, body, want)
		}
	}
	get("/", "hello from cnbapp\n")
	get("/greeting.txt", "world\n")
	testutil.Eventually(t, 10*time.Second, "a web and a worker container", func() (bool, string) {
		got := e.containers(t, app)
		return len(got) == 2 && slices.ContainsFunc(got, func(c string) bool { return strings.Contains(c, "-web.1-") && strings.Contains(c, " 127.0.0.1:") }), strings.Join(got, "\n")
	})
	testutil.Eventually(t, 10*time.Second, "both process types in logs", func() (bool, string) {
		out, _ := s.SSH(nil, "logs", app, "-n", "50")
		return strings.Contains(out, "app[web.1]: cnbapp web listening on :") && strings.Contains(out, "app[worker.1]: cnbapp worker up"), out
	})
	e.checkConfined(t, s, app)

	out = e.redeployUnderLoad(t, s, repo, app, 2)
	if !strings.Contains(out, "remote:        reusing the cached stamp layer") {
		t.Errorf("the redeploy did not reuse the build cache:\n%s", out)
	}
	get("/greeting.txt", "config\n") // the config reached the buildpacks

	// A one-off runs through the image's launcher, with the app's config.
	out, code = s.SSH(nil, "run", app, "sh", "-c", "'test -f /workspace/public/index.html && echo run sees $GREETING; exit 7'")
	if code != 7 || !strings.Contains(out, "run sees config") {
		t.Fatalf("run: exit %d, want 7 and the container's output:\n%s", code, out)
	}

	broken, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "apps", "broken-cnb", "project.toml"))
	if err != nil {
		t.Fatal(err)
	}
	images := e.images(t)
	testutil.Commit(t, repo, "project.toml", string(broken))
	out, code = s.Push(repo, app, "main")
	if code == 0 || !strings.Contains(out, "remote:  !     deploy failed: build: build Cloud Native Buildpacks app: builder not trusted: builder nua-no-such-builder:local is not trusted on this server") {
		t.Fatalf("push naming an untrusted builder: exit %d, want it refused:\n%s", code, out)
	}
	trustBuilder(t, s, "nua-no-such-builder:local")
	out, code = s.Push(repo, app, "main")
	if code == 0 || !strings.Contains(out, "remote:  !     deploy failed: build: build Cloud Native Buildpacks app: builder nua-no-such-builder:local is not on this server") {
		t.Fatalf("push naming a trusted builder the engine lacks: exit %d, want failure saying so:\n%s", code, out)
	}
	get("/", "hello from cnbapp\n")
	if got := e.images(t); got != images {
		t.Errorf("images after a failed build:\n%s\nwant as before:\n%s", got, images)
	}
	if got := e.containers(t, app); len(got) != 2 {
		t.Errorf("containers after a failed build = %q, want the live two", got)
	}

	// CNB_BUILDER names the builder over project.toml.
	if out, code := s.SSH(nil, "config:set", app, "CNB_BUILDER=nua-cnb-builder:local"); code != 0 {
		t.Fatalf("config:set: exit %d\n%s", code, out)
	}
	mustPush(t, s, repo, app)
	get("/", "hello from cnbapp\n")

	e.destroy(t, s, app)
}

// TestE2ECNBTimeout checks that a CNB build cut off by the build timeout
// (the test buildpack sleeps past it) fails the push and leaves no
// container, network or volume of its own.
func TestE2ECNBTimeout(t *testing.T) {
	t.Parallel()
	e := needEngine(t)
	before := e.leftovers(t)
	s := testutil.StartServer(t, "--build-timeout", "40s")
	trustBuilder(t, s, testBuilder)
	t.Cleanup(func() { e.removeAll("slow") })
	repo := testutil.NewRepo(t, "cnbapp")
	testutil.Commit(t, repo, "slow-build", "the test buildpack sleeps\n")
	out, code := s.Push(repo, "slow", "main")
	if code == 0 || !strings.Contains(out, "build timed out") {
		t.Fatalf("push of a build longer than the timeout: exit %d, want a timeout:\n%s", code, out)
	}
	// Normally the cut comes while the buildpack sleeps; on a loaded
	// machine it may come earlier, which must leave nothing either.
	t.Logf("the lifecycle container ran before the cut: %v", strings.Contains(out, "remote:        ===> ANALYZING"))
	// What was there may have gone meanwhile (a previous test's last
	// containers); nothing may have come.
	testutil.Eventually(t, 30*time.Second, "nothing of the cut build left", func() (bool, string) {
		var added []string
		for _, l := range e.leftovers(t) {
			if !slices.Contains(before, l) {
				added = append(added, l)
			}
		}
		return len(added) == 0, strings.Join(added, "\n")
	})
}

// leftovers lists the engine's containers, volumes and the networks builds
// create.
func (e *engine) leftovers(t *testing.T) []string {
	t.Helper()
	var cs []struct{ Names []string }
	var ns []struct{ Name string }
	var vs struct{ Volumes []struct{ Name string } }
	for path, out := range map[string]any{"/containers/json?all=1": &cs, "/networks": &ns, "/volumes": &vs} {
		if err := e.get(path, out); err != nil {
			t.Fatal(err)
		}
	}
	var lines []string
	for _, c := range cs {
		lines = append(lines, "container "+strings.Join(c.Names, ","))
	}
	for _, n := range ns { // the builds' own, not the engine's default
		if strings.HasPrefix(n.Name, "nua-cnb-") || strings.HasPrefix(n.Name, "pack.") {
			lines = append(lines, "network "+n.Name)
		}
	}
	for _, v := range vs.Volumes {
		lines = append(lines, "volume "+v.Name)
	}
	return lines
}
