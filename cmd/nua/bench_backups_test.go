package main_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestBenchBackups prints the time and throughput of a capture (to the
// local dir and MinIO at once) and of an in-place restore of an app with
// a ~200 MB PostgreSQL database, and the daemon's RSS during the capture:
// the archive is streamed, so it stays flat.
func TestBenchBackups(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	m := testutil.StartMinIO(t)
	if err := m.Client.MakeBucket(context.Background(), "bench", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	s := testutil.StartServer(t)
	t.Cleanup(func() { s.Stop(); reapServices(t, s.Data) })
	mustSSH(t, s, "apps:create", "pgapp")
	mustSSH(t, s, "addons:create", "pgapp", "postgres")
	mustPush(t, s, testutil.NewRepo(t, "pgapp"), "pgapp")
	mustSSHIn(t, s, strings.NewReader(m.Password+"\n"), "backups:targets:add", "minio", "s3://bench", "--endpoint", m.Endpoint, "--access-key", m.User)
	fill := "INSERT INTO items (v) SELECT md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) FROM generate_series(1, 1300000);\n" +
		"SELECT 'bytes=' || pg_database_size(current_database());\n"
	out := mustSSHIn(t, s, strings.NewReader(fill), "pg:psql", "pgapp")
	_, after, _ := strings.Cut(out, "bytes=")
	dbBytes, _ := strconv.ParseFloat(strings.Fields(after + " 0")[0], 64)
	dbMB := dbBytes / (1 << 20)
	fmt.Printf("\nnua bench: backups of a %.0f MB PostgreSQL database\n", dbMB)

	idle := testutil.RSS(s.PID())
	var peak int
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if r := testutil.RSS(s.PID()); r > 0 {
				mu.Lock()
				peak = max(peak, r)
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	out = mustSSH(t, s, "backups:capture", "pgapp")
	capture := time.Since(start)
	close(stop)
	<-done
	id := backupIDRE.FindString(out)
	fi, err := os.Stat(s.Data + "/backups/pgapp/" + id + ".nua")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("capture (pg_dump, local dir + MinIO at once): %s, %.1f MB/s of database, archive %.1f MB\n",
		capture.Round(10*time.Millisecond), dbMB/capture.Seconds(), float64(fi.Size())/(1<<20))
	fmt.Printf("nua RSS: %.1f MB idle, %.1f MB at most during the capture\n", mb(idle), mb(peak))

	start = time.Now()
	mustSSH(t, s, "backups:restore", "pgapp", id)
	restore := time.Since(start)
	if out := mustSSHIn(t, s, strings.NewReader("SELECT 'rows=' || count(*) FROM items;\n"), "pg:psql", "pgapp"); !strings.Contains(out, "rows=1300000") {
		t.Fatalf("after the restore: %s", out)
	}
	fmt.Printf("restore in place (check, pg_restore, restart): %s, %.1f MB/s of database\n\n", restore.Round(10*time.Millisecond), dbMB/restore.Seconds())
}
