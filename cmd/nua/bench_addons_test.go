package main_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/nua-paas/nua/addons/supervisor"
	"github.com/nua-paas/nua/internal/testutil"
)

// TestBenchAddons prints the time of addons:create (with its attach) until
// the app serves with the new URL, the idle memory of each kind's server,
// nua's memory with 10 apps and 10 addons, and the latency of simple
// queries through the injected URL (TCP, TLS, SCRAM) against the same
// PostgreSQL reached directly on its unix socket.
func TestBenchAddons(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	s := testutil.StartServer(t)
	t.Cleanup(func() { s.Stop(); reapServices(t, s.Data) })
	mustPush(t, s, testutil.NewRepo(t, "goapp"), "bench")
	fmt.Printf("\nnua bench: addons\n")
	addons := 0
	for _, kind := range []string{"postgres", "redis", "mariadb"} {
		var times []time.Duration
		for i := range 3 {
			as := fmt.Sprintf("%s%d", strings.ToUpper(kind), i)
			start := time.Now()
			mustSSH(t, s, "addons:create", "bench", kind, "--as", as)
			testutil.Eventually(t, 60*time.Second, "the app serves "+as+"_URL", func() (bool, string) {
				status, body := s.Get("bench", "/env/"+as+"_URL")
				return status == 200 && body != "", body
			})
			times = append(times, time.Since(start))
			addons++
		}
		fmt.Printf("addons:create %s + attach until the app serves the new URL: median %s (%s)\n", kind, median(times).Round(time.Millisecond), summary(times))
	}
	services := filepath.Join(s.Data, "services")
	redisPIDs, _ := filepath.Glob(filepath.Join(services, "redis", "*", "redis.pid"))
	fmt.Printf("idle RSS: postgres %.1f MB (all its processes), mariadb %.1f MB, redis %.1f MB per instance (%.1f MB of it anonymous; the rest, its binary's pages, instances share)\n",
		serverMB(filepath.Join(services, "postgres", "postgres.pid")), serverMB(filepath.Join(services, "mariadb", "mariadb.pid")),
		serverMB(redisPIDs[0]), mb(anonymous(supervisor.PIDOf(redisPIDs[0]))))

	for i := range 9 {
		mustPush(t, s, testutil.NewRepo(t, "static"), fmt.Sprintf("site-%d", i))
	}
	mustSSH(t, s, "addons:create", "site-0", "redis")
	addons++
	fmt.Printf("nua RSS with 10 apps and %d addons: %.1f MB\n", addons, mb(testutil.RSS(s.PID())))

	url := mustSSH(t, s, "config:get", "bench", "POSTGRES0_URL")
	port := strings.TrimSpace(readFile(t, filepath.Join(services, "postgres", "data"), "nua-port"))
	direct := fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable", filepath.Join(services, "postgres", "run"), port)
	for _, c := range []struct{ name, dsn string }{{"injected URL (127.0.0.1, TLS, SCRAM)", url}, {"direct (unix socket)", direct}} {
		p50, p99 := queryLatency(t, c.dsn, 1000)
		fmt.Printf("SELECT 1 x1000 through the %s: p50 %s, p99 %s\n", c.name, p50, p99)
	}
	fmt.Println()
}

func serverMB(pidFile string) float64 {
	return float64(supervisor.Memory(supervisor.PIDOf(pidFile))) / (1 << 20)
}

// queryLatency runs n `SELECT 1` on one connection and returns the
// median and 99th percentile.
func queryLatency(t *testing.T, dsn string, n int) (p50, p99 time.Duration) {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil {
		t.Fatalf("connect: %v", err)
	}
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		if err := db.QueryRow("SELECT 1").Scan(&one); err != nil {
			t.Fatal(err)
		}
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2].Round(time.Microsecond), ds[n*99/100].Round(time.Microsecond)
}
