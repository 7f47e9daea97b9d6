package main_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestBenchPhases prints where a one-line Go redeploy goes (median of 5):
// git and the hook (the push's time not in the deploy), exporting the
// source, the build, starting the new web instance until it passes its
// check, switching the route, and the rest of the launch; then the
// latency of 10,000 requests through Traefik against the app directly.
func TestBenchPhases(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "goapp")
	pushToLive(t, s, repo, "goapp", "")
	phases := map[string][]time.Duration{}
	order := []string{"push", "git+hook", "source", "build", "launch", "healthy", "routed"}
	deployed := regexp.MustCompile(`msg=deployed .*source=(\S+) build=(\S+) launch=(\S+)`)
	switched := regexp.MustCompile(`msg="web switched" .*healthy=(\S+) routed=(\S+)`)
	prev := ""
	for i := range 5 {
		from := len(s.Log())
		marker := fmt.Sprintf("phase-%d", i)
		change(t, repo, benchSamples[0], prev, marker)
		prev = marker
		total := pushToLive(t, s, repo, "goapp", marker)
		log := s.Log()[from:]
		d, w := deployed.FindStringSubmatch(log), switched.FindStringSubmatch(log)
		if d == nil || w == nil {
			t.Fatalf("no phase lines in the server log:\n%s", log)
		}
		got := map[string]time.Duration{"push": total}
		for name, v := range map[string]string{"source": d[1], "build": d[2], "launch": d[3], "healthy": w[1], "routed": w[2]} {
			if got[name], _ = time.ParseDuration(v); got[name] == 0 && v != "0s" {
				t.Fatalf("%s=%q is not a duration", name, v)
			}
		}
		got["git+hook"] = total - got["source"] - got["build"] - got["launch"]
		for k, v := range got {
			phases[k] = append(phases[k], v)
		}
	}
	fmt.Printf("\nnua bench: a one-line goapp redeploy by phase, median of 5 (min-max)\n")
	for _, k := range order {
		fmt.Printf("%-10s %s\n", k, summary(phases[k]))
	}

	ps, _ := s.SSH(nil, "ps", "goapp")
	direct := "http://127.0.0.1:" + psField(t, ps, "web.1", 3) + "/"
	viaTraefik := func() (*http.Request, error) {
		req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", s.HTTPPort), nil)
		if err == nil {
			req.Host = "goapp.localhost"
		}
		return req, err
	}
	directReq := func() (*http.Request, error) { return http.NewRequest("GET", direct, nil) }
	fmt.Printf("latency of 10,000 requests, one at a time: through Traefik %s; to the app directly %s\n\n",
		latency(t, viaTraefik), latency(t, directReq))
}

// latency sends 10,000 requests one after the other and returns their
// p50 and p99.
func latency(t *testing.T, newReq func() (*http.Request, error)) string {
	client := &http.Client{Timeout: 10 * time.Second}
	ds := make([]time.Duration, 0, 10000)
	for range 10000 {
		req, err := newReq()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", req.URL, resp.Status)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	us := func(d time.Duration) string { return fmt.Sprintf("%dµs", d.Microseconds()) }
	return "p50 " + us(ds[len(ds)/2]) + ", p99 " + us(ds[len(ds)*99/100])
}
