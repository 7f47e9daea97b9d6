package nua_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nua-paas/nua"
)

// TestCron drives the scheduler with a clock of its own: each job starts
// when its schedule says, in the current release, its output in the logs
// as cron.ID; a job still running at its next time is not started twice;
// cron:run starts one at once; a bad schedule fails the deploy.
func TestCron(t *testing.T) {
	r := newRig(t, 5)
	release := make(chan struct{})
	var mu sync.Mutex
	var ran []string
	r.runner.run = func(req nua.RunRequest) (int, error) {
		cmd := req.Command[len(req.Command)-1]
		mu.Lock()
		ran = append(ran, cmd)
		mu.Unlock()
		fmt.Fprintf(req.Stdout, "output of %s\n", cmd)
		if cmd == "bin/report" {
			<-release
			return 3, nil
		}
		return 0, nil
	}
	runs := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(ran)
	}
	waitRuns := func(want ...string) { // in any order: jobs due at once start together
		t.Helper()
		slices.Sort(want)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if got := runs(); slices.Equal(slices.Sorted(slices.Values(got)), want) {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("jobs run %q, want %q", got, want)
			}
		}
	}

	r.mustApp(t, "shop")
	if out, err := r.deploy(t, "shop", "aaaaaaa1", map[string]string{"app.json": `{"cron": [
		{"command": "bin/clean", "schedule": "*/5 * * * *"},
		{"command": "bin/report", "schedule": "@hourly"}]}`}); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { r.p.RunCron(ctx, tick); close(done) }()
	at := func(hhmm string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", "2026-12-01 "+hhmm, time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}

	tick <- at("10:03") // first sight: the next times are 10:05 and 11:00
	tick <- at("10:04")
	if got := runs(); len(got) != 0 {
		t.Fatalf("jobs ran before their time: %q", got)
	}
	tick <- at("10:05")
	waitRuns("bin/clean")
	tick <- at("11:00")
	waitRuns("bin/clean", "bin/clean", "bin/report")
	tick <- at("12:00") // bin/report is still running
	waitRuns("bin/clean", "bin/clean", "bin/report", "bin/clean")
	if err := r.p.RunCronNow("shop", 2); err == nil || !strings.Contains(err.Error(), "running already") {
		t.Fatalf("cron:run of a running job: %v, want it refused", err)
	}
	st, err := r.p.Cron("shop")
	if err != nil || len(st) != 2 || !st[1].Running || st[1].Job.Command != "bin/report" || !st[0].Next.Equal(at("12:05")) {
		t.Fatalf("Cron = %+v, %v", st, err)
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st, _ := r.p.Cron("shop"); !st[1].Running && st[1].LastExit == 3 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("bin/report's last run: %+v", st[1])
		}
	}
	if err := r.p.RunCronNow("shop", 2); err != nil {
		t.Fatal(err)
	}
	waitRuns("bin/clean", "bin/clean", "bin/report", "bin/clean", "bin/report")
	if err := r.p.RunCronNow("shop", 9); !errors.Is(err, nua.ErrNotFound) {
		t.Fatalf("cron:run of job 9: %v, want not found", err)
	}
	cancel()
	<-done

	r.runner.mu.Lock()
	out, events := r.runner.outputs["shop/cron.1"].String(), strings.Join(r.runner.events, "\n")
	r.runner.mu.Unlock()
	if !strings.Contains(out, "output of bin/clean") {
		t.Errorf("cron.1's output = %q", out)
	}
	for _, want := range []string{"cron.2 still running at its next time: not started twice", "cron.2 ended with exit status 3"} {
		if !strings.Contains(events, want) {
			t.Errorf("events lack %q:\n%s", want, events)
		}
	}

	for _, bad := range []string{`"* * *"`, `"@fortnightly"`, `"61 * * * *"`} {
		_, err := r.deploy(t, "shop", "aaaaaaa2", map[string]string{"app.json": `{"cron": [{"command": "x", "schedule": ` + bad + `}]}`})
		if err == nil || !strings.Contains(err.Error(), "app.json cron[0].schedule") {
			t.Errorf("deploy with schedule %s: %v, want it refused, naming it", bad, err)
		}
	}
	if got := r.app(t, "shop").Release; got != 1 {
		t.Fatalf("Release=%d after refused deploys, want 1", got)
	}
}
