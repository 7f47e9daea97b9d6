package builtin_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nua-paas/nua/addons"
	"github.com/nua-paas/nua/addons/addonstest"
	"github.com/nua-paas/nua/addons/mariadb"
	"github.com/nua-paas/nua/addons/postgres"
	"github.com/nua-paas/nua/addons/redis"
)

// TestMissingServer: a host without a kind's server gets one line naming
// the Debian package, and nothing is made.
func TestMissingServer(t *testing.T) {
	none := []string{t.TempDir()}
	h := addonstest.NewHost(t)
	for _, tt := range []struct {
		driver addons.Driver
		pkg    string
	}{
		{postgres.New(postgres.Config{Host: h, BinDirs: none}), "apt-get install postgresql"},
		{redis.New(redis.Config{Host: h, BinDirs: none}), "apt-get install redis-server"},
		{mariadb.New(mariadb.Config{Host: h, BinDirs: none}), "apt-get install mariadb-server"},
	} {
		t.Run(tt.driver.Kind(), func(t *testing.T) {
			_, err := tt.driver.Provision(t.Context(), "app-db")
			if err == nil || !strings.Contains(err.Error(), tt.pkg) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Provision = %v, want one line naming %q", err, tt.pkg)
			}
			if c := tt.driver.Doctor(t.Context()); !strings.Contains(c.Problem, tt.pkg) {
				t.Fatalf("Doctor = %+v", c)
			}
			if left, _ := os.ReadDir(h.Dir); len(left) > 0 {
				t.Fatalf("left %s in the services dir", left[0].Name())
			}
		})
	}
}

// TestDiskFull makes addons on a small file system filled up: each fails
// with the reason and leaves no role, database or instance; once there is
// room again, the same names work.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small file system needs root")
	}
	h := addonstest.NewHost(t)
	if err := os.MkdirAll(h.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=80m,mode=0711", "tmpfs", h.Dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", h.Dir).Run() })
	pg := postgres.New(postgres.Config{Host: h})
	rd := redis.New(redis.Config{Host: h})
	// The cluster first, with room; then fill the disk.
	if _, err := pg.Provision(t.Context(), "warm-up"); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(h.Dir, "filler")
	fill(t, filler)
	for _, tt := range []struct {
		driver addons.Driver
		left   func(t *testing.T) bool
	}{
		{pg, func(t *testing.T) bool { ok, err := pg.Exists(t.Context(), "full-db"); return ok || err != nil }},
		{rd, func(t *testing.T) bool { ok, _ := rd.Left(t.Context(), "full-db"); return ok }},
	} {
		_, err := tt.driver.Provision(t.Context(), "full-db")
		if err == nil {
			t.Fatalf("%s: Provision on a full disk succeeded", tt.driver.Kind())
		}
		t.Logf("%s on a full disk: %v", tt.driver.Kind(), err)
		if tt.left(t) {
			t.Fatalf("%s: a failed Provision left the addon behind", tt.driver.Kind())
		}
	}
	os.Remove(filler)
	for _, d := range []addons.Driver{pg, rd} {
		if _, err := d.Provision(t.Context(), "full-db"); err != nil {
			t.Fatalf("%s: Provision with room again: %v", d.Kind(), err)
		}
	}
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !strings.Contains(err.Error(), syscall.ENOSPC.Error()) {
				t.Fatal(err)
			}
			break
		}
	}
	// The last bytes too, a page at a time.
	for {
		if _, err := f.Write(buf[:4096]); err != nil {
			return
		}
	}
}
