package main_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestBenchSandbox prints what the sandbox costs: push to first 200 and a
// one-line redeploy of the Go and static samples, and a one-off `run`, on
// a server with the sandbox and on one without (median of 5, alternating),
// and what stays running beside each sandboxed instance.
func TestBenchSandbox(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	if os.Geteuid() != 0 {
		t.Skip("the sandbox runs only as root")
	}
	servers := []struct {
		name string
		s    *testutil.Server
	}{
		{"sandbox off", testutil.StartServer(t, "--sandbox=off")},
		{"sandbox on", testutil.StartServer(t)},
	}
	const runs = 5
	type key struct{ server, what string }
	times := map[key][]time.Duration{}
	for run := 1; run <= runs; run++ {
		for _, sv := range servers {
			for _, smp := range benchSamples[:2] { // goapp, static
				app := fmt.Sprintf("%s-%d", smp.name, run)
				repo := testutil.NewRepo(t, smp.name)
				k := key{sv.name, smp.name}
				times[key{sv.name, smp.name + " new"}] = append(times[key{sv.name, smp.name + " new"}], pushToLive(t, sv.s, repo, app, ""))
				change(t, repo, smp, "", fmt.Sprintf("changed-%d", run))
				times[k] = append(times[k], pushToLive(t, sv.s, repo, app, fmt.Sprintf("changed-%d", run)))
			}
			start := time.Now()
			if out, code := sv.s.SSH(nil, "run", "goapp-1", "true"); code != 0 {
				t.Fatalf("run: exit %d\n%s", code, out)
			}
			times[key{sv.name, "run true"}] = append(times[key{sv.name, "run true"}], time.Since(start))
		}
	}
	// Beside a sandboxed instance: its process is the app's own (the helper
	// execs it), plus procman's watchdog shell.
	on := servers[1].s
	ps, _ := on.SSH(nil, "ps", "goapp-1")
	pid := psField(t, ps, "web.1", 2)
	exe, _ := os.Readlink("/proc/" + pid + "/exe")
	var helpers, helperRSS int
	if pids, err := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children"); err == nil {
		for _, c := range strings.Fields(string(pids)) {
			if n, err := strconv.Atoi(c); err == nil {
				helpers++
				helperRSS += testutil.RSS(n)
			}
		}
	}

	fmt.Printf("\nnua bench: the sandbox's cost, push -> first 200, median of %d (min-max)\n", runs)
	fmt.Printf("%-26s %-22s %-22s\n", "", servers[0].name, servers[1].name)
	for _, what := range []string{"goapp new", "goapp", "static new", "static", "run true"} {
		label := what
		if what == "goapp" || what == "static" {
			label += " one-line redeploy"
		}
		fmt.Printf("%-26s %-22s %-22s\n", label, summary(times[key{servers[0].name, what}]), summary(times[key{servers[1].name, what}]))
	}
	fmt.Printf("sandboxed web.1: pid %s runs %s; beside it %d process(es), %.1f MB RSS (the same watchdog runs unsandboxed)\n\n",
		pid, exe, helpers, mb(helperRSS))
}
