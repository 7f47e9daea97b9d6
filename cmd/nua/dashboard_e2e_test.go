package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/nua-paas/nua/internal/testutil"
)

// browser starts Debian's Chromium headless for the test and returns a
// tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		msg := "chromium is not installed: run `make deps` (apt-get install chromium)"
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no deadline
		t.Fatalf("start chromium: %v", err)
	}
	// Answer the confirm() of the rollback forms with OK.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx
}

// artifacts is where the test saves its screenshots: $NUA_ARTIFACTS, else
// test-artifacts/ at the top of the repository.
func artifacts(t *testing.T) string {
	dir := os.Getenv("NUA_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(t), "test-artifacts")
	}
	dir = filepath.Join(dir, "dashboard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// do runs steps in the tab within 30 seconds.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	value(t, ctx, what, chromedp.Steps(steps...))
}

// value runs a in the tab within 30 seconds and returns its value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := value(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(artifacts(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

var linkRE = regexp.MustCompile(`http://\S+/login/\S+`)

// loginLink mints a one-time link over SSH with key ("" for the admin's).
func loginLink(t *testing.T, s *testutil.Server, key string) string {
	t.Helper()
	if key == "" {
		key = s.Key
	}
	out, code := s.SSHWithKey(key, nil, "dashboard")
	link := linkRE.FindString(out)
	if code != 0 || link == "" {
		t.Fatalf("dashboard: exit %d, want a login link:\n%s", code, out)
	}
	return link
}

// TestE2EDashboard logs in to the dashboard in a real Chromium with a link
// minted over SSH, sees an app pushed with git, watches a config change
// deploy live, rolls back with a click and sees the old release serve
// through Traefik; a member sees only their apps and a forged form is
// refused. The HTTP API answers the same with a token.
func TestE2EDashboard(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	ctx := browser(t)
	mustPush(t, s, testutil.NewRepo(t, "goapp"), "goapp")
	if out, code := s.SSH(nil, "config:set", "goapp", "GREETING=second"); code != 0 {
		t.Fatalf("config:set: %d\n%s", code, out)
	}
	base := fmt.Sprintf("http://nua.localhost:%d", s.HTTPPort)

	link := loginLink(t, s, "")
	do(t, ctx, "log in", chromedp.Navigate(link), chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.CSS("table.apps")))
	apps := value(t, ctx, "apps table", chromedp.Text(chromedp.CSS("table.apps")))
	if !strings.Contains(apps, "goapp") || !strings.Contains(apps, "v2") {
		t.Fatalf("apps page lacks goapp at v2:\n%s", apps)
	}
	screenshot(t, ctx, "apps")
	if status, body := get(t, base+"/login/"+strings.TrimPrefix(link, base+"/login/"), "POST", ""); status != http.StatusUnauthorized || !strings.Contains(body, "used or expired") {
		t.Fatalf("a used login link: %d, want it refused", status)
	}

	do(t, ctx, "app page", chromedp.Navigate(base+"/apps/goapp"), chromedp.WaitVisible(chromedp.ID("procs")))
	release := value(t, ctx, "release", chromedp.Text(chromedp.ID("release")))
	if release != "v2" {
		t.Fatalf("release %q, want v2", release)
	}
	if domains := value(t, ctx, "domains", chromedp.Text(chromedp.ID("domains"))); !strings.Contains(domains, "goapp.localhost") || !strings.Contains(domains, "off") {
		t.Errorf("domains section: %q, want goapp.localhost with HTTPS off", domains)
	}
	if addons := value(t, ctx, "addons", chromedp.Text(chromedp.ID("addons"))); !strings.Contains(addons, "No addons") {
		t.Errorf("addons section: %q", addons)
	}
	value(t, ctx, "live log stream", chromedp.Poll[bool](`document.getElementById("log").textContent.length > 0`, chromedp.WithPollingTimeout(20*time.Second)))
	if out, code := s.SSH(nil, "config:set", "goapp", "GREETING=third"); code != 0 {
		t.Fatalf("config:set: %d\n%s", code, out)
	}
	value(t, ctx, "the new release shown without a reload",
		chromedp.Poll[bool](`document.getElementById("release").textContent == "v3" && document.getElementById("log").textContent.includes("of v3") && document.getElementById("rollback-v2") !== null`,
			chromedp.WithPollingTimeout(20*time.Second)))
	screenshot(t, ctx, "app")
	// On a phone's width the page still fits: nothing wider than the screen.
	do(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	if w := value(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("the app page is %d px wide on a 390 px screen", w)
	}
	screenshot(t, ctx, "app-phone")
	do(t, ctx, "desktop width", chromedp.EmulateViewport(1100, 900))

	if cfg := value(t, ctx, "hidden config", chromedp.Text(chromedp.CSS("table.config"))); strings.Contains(cfg, "third") {
		t.Errorf("config values shown before asked: %q", cfg)
	}
	do(t, ctx, "reveal config", chromedp.Click(chromedp.ID("reveal")), chromedp.WaitVisible(chromedp.CSS("table.config")))
	if cfg := value(t, ctx, "config", chromedp.Text(chromedp.CSS("table.config"))); !strings.Contains(cfg, "GREETING") || !strings.Contains(cfg, "third") {
		t.Errorf("revealed config: %q, want GREETING third", cfg)
	}
	do(t, ctx, "roll back to v1", chromedp.Click(chromedp.ID("rollback-v1")), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	testutil.Eventually(t, 20*time.Second, "v1 serving again", func() (bool, string) {
		status, body := s.Get("goapp", "/")
		return status == 200 && body == "hello from goapp world\n", body
	})

	do(t, ctx, "back up", chromedp.Navigate(base+"/apps/goapp"), chromedp.Click(chromedp.ID("capture")), chromedp.WaitVisible(chromedp.CSS("table.backups")))
	if bs := value(t, ctx, "backups", chromedp.Text(chromedp.ID("backups"))); !strings.Contains(bs, "ok") {
		t.Errorf("backups section after a capture: %q", bs)
	}
	if out, _ := s.SSH(nil, "backups", "goapp"); !strings.Contains(out, "ok") {
		t.Errorf("backups over SSH after the dashboard's capture:\n%s", out)
	}

	// A member sees their own app only, and cannot forge a form.
	bob := s.AddUser("bob", false)
	if out, code := s.SSHWithKey(bob, nil, "apps:create", "bobapp"); code != 0 {
		t.Fatalf("bob apps:create: %d\n%s", code, out)
	}
	do(t, ctx, "log out", chromedp.Click(chromedp.CSS("button.link")), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	do(t, ctx, "log in as bob", chromedp.Navigate(loginLink(t, s, bob)), chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.CSS("table.apps")))
	apps = value(t, ctx, "bob's apps", chromedp.Text(chromedp.CSS("table.apps")))
	if !strings.Contains(apps, "bobapp") || strings.Contains(apps, "goapp") {
		t.Fatalf("bob's apps page:\n%s", apps)
	}
	do(t, ctx, "bob types goapp's URL", chromedp.Navigate(base+"/apps/goapp"))
	refused := value(t, ctx, "refusal", chromedp.Text(chromedp.CSS("p.error")))
	if !strings.Contains(refused, "you have no access to app goapp") {
		t.Fatalf("bob on goapp's page: %q", refused)
	}
	do(t, ctx, "bob's app page", chromedp.Navigate(base+"/apps/bobapp"))
	forged := value(t, ctx, "a form without its CSRF token",
		chromedp.Evaluate[int](`fetch("/apps/bobapp/restart", {method: "POST", body: new URLSearchParams({type: ""})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if forged != http.StatusForbidden {
		t.Fatalf("forged form: status %d, want 403", forged)
	}
	screenshot(t, ctx, "member")

	// The API: the same operations and answers, for a token.
	out, _ := s.SSH(nil, "tokens:create", "--name", "ci")
	token := regexp.MustCompile(`nua_\S+`).FindString(out)
	if status, body := get(t, base+"/api/v1/apps/goapp/releases", "GET", token); status != 200 || !strings.Contains(body, `"current": true`) {
		t.Fatalf("GET releases with a token: %d\n%s", status, body)
	}
	if status, body := get(t, base+"/api/v1/apps", "GET", ""); status != http.StatusUnauthorized || !strings.Contains(body, "Bearer") {
		t.Fatalf("GET apps without a token: %d %s", status, body)
	}
	out, _ = s.SSHWithKey(bob, nil, "tokens:create", "--name", "bobs")
	bobToken := regexp.MustCompile(`nua_\S+`).FindString(out)
	status, body := get(t, base+"/api/v1/apps/goapp", "GET", bobToken)
	var e struct{ Error string }
	json.Unmarshal([]byte(body), &e)
	cliOut, _ := s.SSHWithKey(bob, nil, "apps:info", "goapp")
	if status != http.StatusForbidden || e.Error == "" || !strings.Contains(cliOut, e.Error) {
		t.Fatalf("bob's API call on goapp: %d %q; the command says:\n%s", status, e.Error, cliOut)
	}
	// Any command line, under its own rule.
	var run struct {
		Exit           int
		Stdout, Stderr string
	}
	status, body = post(t, base+"/api/v1/run", token, `{"args": ["releases", "goapp"]}`)
	if json.Unmarshal([]byte(body), &run); status != 200 || run.Exit != 0 || !strings.Contains(run.Stdout, "v4") {
		t.Fatalf("run releases goapp: %d %s", status, body)
	}
	status, body = post(t, base+"/api/v1/run", bobToken, `{"args": ["config:set", "goapp", "X=1"]}`)
	if json.Unmarshal([]byte(body), &run); status != 200 || run.Exit == 0 || !strings.Contains(run.Stderr, "you have no access to app goapp") {
		t.Fatalf("bob's run config:set goapp: %d %s", status, body)
	}
	if _, body := get(t, base+"/api/v1/apps/goapp/config", "GET", token); strings.Contains(body, `"X"`) {
		t.Fatalf("bob's refused config:set changed goapp: %s", body)
	}
}

// post sends a JSON body to the dashboard's host through Traefik.
func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	return request(t, url, "POST", token, strings.NewReader(body))
}

// get makes a request to the dashboard's host through Traefik.
func get(t *testing.T, url, method, token string) (int, string) {
	t.Helper()
	return request(t, url, method, token, nil)
}

func request(t *testing.T, url, method, token string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	// nua.localhost is loopback; Go's resolver may not say so.
	req.URL.Host = strings.Replace(req.URL.Host, "nua.localhost", "127.0.0.1", 1)
	req.Host = "nua.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
