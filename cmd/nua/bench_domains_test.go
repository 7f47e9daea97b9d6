package main_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestBenchDomains times domains:add to the first HTTPS 200 verified
// against the CA's root (pebble's, HTTP-01 through Traefik), three times.
func TestBenchDomains(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	peb := startPebble(t)
	s := peb.StartServer(t, "http")
	pushApp(t, s, "bench")
	c := peb.Client()
	var times []time.Duration
	for i := range 3 {
		host := fmt.Sprintf("www%d.bench.test", i)
		start := time.Now()
		mustSSH(t, s, "domains:add", "bench", host)
		testutil.Eventually(t, 120*time.Second, "HTTPS 200 for "+host, func() (bool, string) {
			status, body, _ := getHost(c, fmt.Sprintf("https://%s:%d/", host, peb.TLSPort), host)
			return status == 200, fmt.Sprintf("%d %q", status, body)
		})
		times = append(times, time.Since(start))
	}
	fmt.Printf("\nnua bench: domains:add -> first verified HTTPS 200 (pebble, HTTP-01): %s\n\n", summary(times))
}
