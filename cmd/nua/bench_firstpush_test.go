package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestBenchFirstGoPush prints the first Go push on a new server whose
// shared build cache `nua warm` prepared (as install.sh does), against a
// second new Go app on the same server.
func TestBenchFirstGoPush(t *testing.T) {
	if os.Getenv("NUA_BENCH") == "" {
		t.Skip("figures only: run `make bench`")
	}
	dir := t.TempDir()
	// As root, apps' builds read the shared cache: its parents must let
	// them through, as a data dir's do.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"GOCACHE=" + filepath.Join(dir, "go-build")} // a new server's empty cache
	nua, _ := testutil.Binaries(t)
	start := time.Now()
	testutil.Run(t, "", append(os.Environ(), env...), nua, "--data", filepath.Join(dir, "data"), "warm")
	warm := time.Since(start)
	s := testutil.StartServerEnv(t, env)
	first := pushToLive(t, s, testutil.NewRepo(t, "goapp"), "first", "")
	second := pushToLive(t, s, testutil.NewRepo(t, "goapp"), "second", "")
	fmt.Printf("\nnua bench: a new server's first Go push\n")
	fmt.Printf("nua warm (install.sh; the standard library into the shared cache): %.1fs\n", warm.Seconds())
	fmt.Printf("goapp push -> first 200: first app %.2fs, second app %.2fs\n\n", first.Seconds(), second.Seconds())
}
