package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
	"github.com/nua-paas/nua/toolchains"
)

// TestBenchRuntimes prints what providing a runtime costs: the first push
// of a Node.js app whose Node.js line the server lacks (fetched from the
// npm registry) against the same app once it is cached, and the disk the
// runtime cache takes for three Node.js lines.
func TestBenchRuntimes(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	s := testutil.StartServer(t)
	var times []time.Duration
	for _, app := range []string{"cold", "warm"} {
		times = append(times, pushToLive(t, s, testutil.NewRepo(t, "node18"), app, "on node v18."))
	}
	for _, line := range []string{"16.x", "22.x"} {
		repo := testutil.NewRepo(t, "node18")
		pkg, err := os.ReadFile(filepath.Join(repo, "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		testutil.Commit(t, repo, "package.json", strings.Replace(string(pkg), `"18.x"`, `"`+line+`"`, 1))
		pushToLive(t, s, repo, "node"+strings.TrimSuffix(line, ".x"), "on node v"+strings.TrimSuffix(line, "x"))
	}
	rts, err := toolchains.ListRuntimes(toolchains.RuntimesDir(s.Data))
	if err != nil {
		t.Fatal(err)
	}
	var nodes, all int64
	var names []string
	for _, r := range rts {
		all += r.Size
		if strings.HasPrefix(r.Name, "node-linux-") {
			nodes += r.Size
			names = append(names, r.Version)
		}
	}
	fmt.Printf("\nnua bench: runtimes nua provides (Node.js from the npm registry)\n")
	fmt.Printf("node18 app, push -> first 200: %.2fs fetching Node.js and npm, %.2fs with them cached\n", times[0].Seconds(), times[1].Seconds())
	fmt.Printf("runtime cache: Node.js %s take %.0f MB; with their npm versions %.0f MB\n\n",
		strings.Join(names, ", "), float64(nodes)/(1<<20), float64(all)/(1<<20))
}
