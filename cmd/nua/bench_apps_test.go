package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestBenchManyApps pushes N static sites (NUA_BENCH_APPS, default 100) to
// one server and prints push -> first 200 of the first five and the last
// five, and the memory of nua (which serves the sites), Traefik and any
// static site processes (none).
func TestBenchManyApps(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	n := 100
	if v := os.Getenv("NUA_BENCH_APPS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 {
			t.Fatalf("NUA_BENCH_APPS=%q: give a number of apps, 10 or more", v)
		}
	}
	s := testutil.StartServer(t)
	times := make([]time.Duration, n)
	var nuaAt10 int
	for i := range n {
		times[i] = pushToLive(t, s, testutil.NewRepo(t, "static"), fmt.Sprintf("site-%d", i), "")
		if i == 9 {
			nuaAt10 = testutil.RSS(s.PID())
		}
	}
	first, last := times[:5], times[n-5:]
	ratio := median(last).Seconds() / median(first).Seconds()
	sites, rss := sitesRSS(s.Data)
	nuaRSS := testutil.RSS(s.PID())
	fmt.Printf("\nnua bench: %d static sites on one server (served by the daemon)\n", n)
	fmt.Printf("push -> first 200: first five %s, last five %s (ratio %.2f)\n", summary(first), summary(last), ratio)
	traefik := testutil.ChildPID(s.PID(), "traefik")
	fmt.Printf("RSS: nua %.1f MB (%.1f MB at 10 sites: %.2f MB per site beyond), Traefik %.1f MB (%.1f MB of it anonymous, the rest clean pages of its binary), %d static site processes %.1f MB\n\n",
		mb(nuaRSS), mb(nuaAt10), mb(nuaRSS-nuaAt10)/float64(n-10), mb(testutil.RSS(traefik)), mb(anonymous(traefik)), sites, mb(rss))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// sitesRSS counts the processes serving static sites out of data (their
// working dir is a slug there), and their RSS in KiB.
func sitesRSS(data string) (n, kib int) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		argv := strings.Split(string(cmdline), "\x00")
		cwd, _ := os.Readlink("/proc/" + e.Name() + "/cwd")
		if len(argv) > 1 && filepath.Base(argv[0]) == "nua" && argv[1] == "serve-static" && strings.HasPrefix(cwd, data+"/") {
			n++
			kib += testutil.RSS(pid)
		}
	}
	return n, kib
}

// anonymous is the anonymous memory of process pid in KiB: its heap and
// stacks, which the kernel cannot drop as it can pages of the binary.
func anonymous(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Anonymous:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}
