package main_test

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestBenchConfigSet prints how long config:set takes until the new value
// serves (a new release, its instances started and checked, the route
// switched), median of 3, under a client requesting without pause.
func TestBenchConfigSet(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	s := testutil.StartServer(t)
	pushToLive(t, s, testutil.NewRepo(t, "goapp"), "goapp", "")
	var failed, total atomic.Int64
	stop := hammer(s, "goapp", &failed, &total)
	var times, returned []time.Duration
	for i := range 3 {
		value := fmt.Sprintf("v%d", i)
		start := time.Now()
		if out, code := s.SSH(nil, "config:set", "goapp", "GREETING="+value); code != 0 {
			t.Fatalf("config:set: exit %d\n%s", code, out)
		}
		returned = append(returned, time.Since(start))
		testutil.Eventually(t, time.Minute, "the new config serving", func() (bool, string) {
			status, body := s.Get("goapp", "/")
			return status == 200 && strings.Contains(body, "hello from goapp "+value), body
		})
		times = append(times, time.Since(start))
	}
	stop()
	fmt.Printf("\nnua bench: config:set, median of 3 (min-max)\n")
	fmt.Printf("goapp config:set until ssh returns: %s; until the new value serves: %s; failed requests: %d of %d\n\n",
		summary(returned), summary(times), failed.Load(), total.Load())
}
