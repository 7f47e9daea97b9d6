package main_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestBenchDashboard prints the daemon's idle RSS with the dashboard on and
// off, the server time of the apps page with 100 apps (its Server-Timing)
// and the bytes of an app's page with its assets.
func TestBenchDashboard(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	off := testutil.StartServer(t, "--dashboard", "off")
	on := testutil.StartServer(t)
	for _, s := range []*testutil.Server{off, on} {
		if out, code := s.SSH(nil, "apps"); code != 0 {
			t.Fatalf("apps: %d\n%s", code, out)
		}
	}
	rssOff, rssOn := testutil.RSS(off.PID()), testutil.RSS(on.PID())

	mustPush(t, on, testutil.NewRepo(t, "goapp"), "goapp")
	for i := range 99 {
		if out, code := on.CLI(nil, "apps:create", fmt.Sprintf("app-%d", i)); code != 0 {
			t.Fatalf("apps:create: %d\n%s", code, out)
		}
	}
	c := dashboardClient(t, on)
	base := fmt.Sprintf("http://127.0.0.1:%d", on.HTTPPort)
	var renders []float64
	for range 21 {
		resp := c.get(t, base+"/")
		m := regexp.MustCompile(`render;dur=([0-9.]+)`).FindStringSubmatch(resp.Header.Get("Server-Timing"))
		if resp.StatusCode != 200 || m == nil || strings.Count(resp.body, `href="/apps/`) != 100 {
			t.Fatalf("apps page: %d %q, %d apps", resp.StatusCode, resp.Header.Get("Server-Timing"), strings.Count(resp.body, `href="/apps/`))
		}
		ms, _ := strconv.ParseFloat(m[1], 64)
		renders = append(renders, ms)
	}
	slices.Sort(renders)
	page := c.get(t, base+"/apps/goapp")
	css, js := c.get(t, base+"/assets/style.css"), c.get(t, base+"/assets/app.js")
	fmt.Printf("\nnua bench: dashboard\n")
	fmt.Printf("daemon RSS idle: dashboard off %.1f MB, on %.1f MB (%+.1f MB)\n", mb(rssOff), mb(rssOn), mb(rssOn-rssOff))
	fmt.Printf("apps page with 100 apps, server time: median %.2f ms (%.2f-%.2f ms, 21 requests)\n", renders[len(renders)/2], renders[0], renders[len(renders)-1])
	fmt.Printf("app page: %d bytes HTML + %d CSS + %d JS = %.1f KB, no external assets\n\n",
		len(page.body), len(css.body), len(js.body), float64(len(page.body)+len(css.body)+len(js.body))/1024)
}

// dashClient is a browser-like client of the dashboard through Traefik.
type dashClient struct{ *http.Client }

type dashResponse struct {
	*http.Response
	body string
}

// dashboardClient logs in with a link minted over SSH.
func dashboardClient(t *testing.T, s *testutil.Server) dashClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := dashClient{&http.Client{Jar: jar}}
	link := loginLink(t, s, "")
	u, _ := url.Parse(link)
	resp := c.do(t, "POST", fmt.Sprintf("http://127.0.0.1:%d%s", s.HTTPPort, u.Path))
	if resp.StatusCode != 200 || !strings.Contains(resp.body, "Apps") {
		t.Fatalf("log in: %d\n%s", resp.StatusCode, resp.body)
	}
	return c
}

func (c dashClient) get(t *testing.T, u string) dashResponse { return c.do(t, "GET", u) }

func (c dashClient) do(t *testing.T, method, u string) dashResponse {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Host = "nua.localhost"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return dashResponse{resp, string(b)}
}
