package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// benchSample is a sample app and the line a one-line change edits.
type benchSample struct {
	name, file string
	line       func(marker string) string // the line, carrying marker ("" = as shipped)
}

var benchSamples = []benchSample{
	{"goapp", "main.go", func(m string) string { return `greeting = "` + or(m, "world") + `"` }},
	{"static", "index.html", func(m string) string { return strings.TrimSpace("<h1>nua-static-sample-index "+m) + "</h1>" }},
	{"procfile", "server.pl", func(m string) string { return "|| '" + or(m, "world") + "'" }},
	{"nodeapp", "server.js", func(m string) string { return "|| '" + or(m, "world") + "'" }},
	{"pyapp", "app.py", func(m string) string { return `or "` + or(m, "world") + `"` }},
	{"rubyapp", "server.rb", func(m string) string { return `default_greeting = "` + or(m, "world") + `"` }},
	{"rustapp", "src/main.rs", func(m string) string { return `const DEFAULT_GREETING: &str = "` + or(m, "world") + `";` }},
	{"nixapp", "server.pl", func(m string) string { return "|| '" + or(m, "world") + "'" }},
	{"dockerapp", "index.cgi", func(m string) string { return `"${GREETING:-` + or(m, "world") + `}"` }},
	{"cnbapp", "public/index.html", func(m string) string { return strings.TrimSpace("hello from cnbapp " + m) }},
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestBench prints the figures of `make bench`: push to first 200 for each
// sample app, new and redeployed after a one-line change (median of 3),
// requests failed during a redeploy, and the memory of nua and Traefik.
func TestBench(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	s := testutil.StartServer(t)
	trustBuilder(t, s, testBuilder)
	if e := needEngine(t); e != nil {
		for run := 1; run <= 3; run++ {
			t.Cleanup(func() { e.removeAll(fmt.Sprintf("dockerapp-%d", run)) })
			t.Cleanup(func() { e.removeAll(fmt.Sprintf("cnbapp-%d", run)) })
		}
	}
	const runs = 3
	newApp := map[string][]time.Duration{}
	redeploy := map[string][]time.Duration{}
	var underLoad, noChange, rollback []time.Duration
	var failed, total atomic.Int64
	var goRepo string
	var rssNua, rssTraefik int
	for run := 1; run <= runs; run++ {
		for _, smp := range benchSamples {
			app := fmt.Sprintf("%s-%d", smp.name, run)
			repo := testutil.NewRepo(t, smp.name)
			newApp[smp.name] = append(newApp[smp.name], pushToLive(t, s, repo, app, ""))

			marker := fmt.Sprintf("changed-%d", run)
			change(t, repo, smp, "", marker)
			redeploy[smp.name] = append(redeploy[smp.name], pushToLive(t, s, repo, app, marker))
			if smp.name == "goapp" && run == 1 {
				goRepo = repo
			}
		}
		if run == 1 { // the sample apps are running
			rssNua = testutil.RSS(s.PID())
			rssTraefik = testutil.RSS(testutil.ChildPID(s.PID(), "traefik"))
		}
	}
	// Ten redeploys while a client requests the app without pause.
	stop := hammer(s, "goapp-1", &failed, &total)
	for i := range 10 {
		testutil.Commit(t, goRepo, "NOTES", fmt.Sprintf("load %d\n", i))
		underLoad = append(underLoad, pushToLive(t, s, goRepo, "goapp-1", ""))
	}
	stop()
	for range runs {
		testutil.Run(t, goRepo, s.GitEnv(), "git", "commit", "-q", "--allow-empty", "-m", "no change")
		noChange = append(noChange, pushToLive(t, s, goRepo, "goapp-1", ""))
		start := time.Now()
		if out, code := s.SSH(nil, "rollback", "goapp-1"); code != 0 {
			t.Fatalf("rollback: exit %d\n%s", code, out)
		}
		rollback = append(rollback, time.Since(start))
	}
	// At least twenty running apps: the samples above and Procfile apps.
	apps := runs * len(benchSamples)
	for i := 0; apps < 20; i, apps = i+1, apps+1 {
		pushToLive(t, s, testutil.NewRepo(t, "procfile"), fmt.Sprintf("extra-%d", i), "")
	}
	rss20 := testutil.RSS(s.PID())
	traefik20 := testutil.RSS(testutil.ChildPID(s.PID(), "traefik"))

	fmt.Printf("\nnua bench: push -> first 200, median of %d (min-max)\n", runs)
	fmt.Printf("%-10s %-22s %-22s\n", "app", "new app", "one-line redeploy")
	for _, smp := range benchSamples {
		fmt.Printf("%-10s %-22s %-22s\n", smp.name, summary(newApp[smp.name]), summary(redeploy[smp.name]))
	}
	fmt.Printf("goapp, 10 redeploys under constant requests: %s each, failed requests: %d of %d\n", summary(underLoad), failed.Load(), total.Load())
	fmt.Printf("goapp no-change push (empty commit): %s\n", summary(noChange))
	fmt.Printf("rollback (ssh rollback APP, until it returns live): %s\n", summary(rollback))
	fmt.Printf("RSS with the %d sample apps running: nua %.1f MB, Traefik %.1f MB\n", len(benchSamples), mb(rssNua), mb(rssTraefik))
	fmt.Printf("RSS with %d apps running: nua %.1f MB, Traefik %.1f MB\n\n", apps, mb(rss20), mb(traefik20))
}

// pushToLive pushes repo to app and returns the time until the app answers
// 200 (with want in the body, if given).
func pushToLive(t *testing.T, s *testutil.Server, repo, app, want string) time.Duration {
	t.Helper()
	start := time.Now()
	if out, code := s.Push(repo, app, "main"); code != 0 {
		t.Fatalf("push %s: exit %d\n%s", app, code, out)
	}
	testutil.Eventually(t, time.Minute, app+" answers", func() (bool, string) {
		status, body := s.Get(app, "/")
		return status == 200 && strings.Contains(body, want), body
	})
	return time.Since(start)
}

// change edits smp's line in repo from carrying old to carrying marker,
// and commits.
func change(t *testing.T, repo string, smp benchSample, old, marker string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, smp.file))
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(string(b), smp.line(old), smp.line(marker), 1)
	if out == string(b) {
		t.Fatalf("%s: %q not found", smp.file, smp.line(old))
	}
	testutil.Commit(t, repo, smp.file, out)
}

// hammer requests app in a loop until stopped, counting non-200 answers.
func hammer(s *testutil.Server, app string, failed, total *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < 100000; i++ {
			select {
			case <-done:
				return
			default:
			}
			if status, _ := s.Get(app, "/"); status != 200 {
				failed.Add(1)
			}
			total.Add(1)
		}
	})
	return func() { close(done); wg.Wait() }
}

func mb(kib int) float64 { return float64(kib) / 1024 }

func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
	return fmt.Sprintf("%s (%s-%s)", ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1]))
}
