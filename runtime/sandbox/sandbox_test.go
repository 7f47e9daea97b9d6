package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/runtime/sandbox"
)

// The test binary is its own sandbox helper, as nua's binary is the daemon's.
func TestMain(m *testing.M) {
	sandbox.ServeHelper()
	os.Exit(m.Run())
}

const testUID = sandbox.DefaultUIDBase + 999_000

func mustSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal("the sandbox tests need root (NUA_E2E=require)")
		}
		t.Skip("the sandbox confines apps only when nua runs as root")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m := sandbox.New(sandbox.Config{Helper: exe, Cgroup: "nua-sandbox-test"})
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	if !m.Enabled() {
		t.Fatalf("sandbox not enabled as root: %s", m.Status())
	}
	t.Log(m.Status())
	return m.For("sandbox-test", testUID)
}

// run runs the shell script in a job of sb with limits l and returns its
// output and the job, released.
func run(t *testing.T, sb *sandbox.Sandbox, l sandbox.Limits, env []string, script string) (string, *sandbox.Proc, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := sb.Command(ctx, sandbox.Job{Name: "test", Argv: []string{"/bin/sh", "-c", script}, Dir: "/", Env: env, Limits: l})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.CombinedOutput()
	t.Cleanup(p.Release)
	return strings.TrimSpace(string(out)), p, err
}

var baseEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

func TestRunsAsTheAppsUser(t *testing.T) {
	sb := mustSandbox(t)
	out, _, err := run(t, sb, sandbox.DefaultProcess, baseEnv, "id -u; id -g; id -G")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := fmt.Sprintf("%d\n%d\n%d", testUID, testUID, testUID)
	if out != want {
		t.Fatalf("ids = %q, want %q", out, want)
	}
}

func TestCannotReadRootsFiles(t *testing.T) {
	sb := mustSandbox(t)
	secret := filepath.Join(t.TempDir(), "secret")
	os.Chmod(filepath.Dir(secret), 0o755)
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, sb, sandbox.DefaultProcess, baseEnv, "cat "+secret)
	if err == nil || strings.Contains(out, "s3cret") {
		t.Fatalf("the app read a root-only file: %q (err %v)", out, err)
	}
	if !strings.Contains(out, "Permission denied") {
		t.Fatalf("cat said %q, want a permission error", out)
	}
}

func TestPathKeepsWhatTheAppCanReach(t *testing.T) {
	sb := mustSandbox(t)
	hidden := t.TempDir() // 0700, root's
	env := []string{"PATH=" + hidden + ":/usr/bin:/bin"}
	out, _, err := run(t, sb, sandbox.DefaultProcess, env, `echo "$PATH"`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out != "/usr/bin:/bin" {
		t.Fatalf("PATH = %q, want %q", out, "/usr/bin:/bin")
	}
}

func TestReleaseKillsWhatLeftTheGroup(t *testing.T) {
	sb := mustSandbox(t)
	out, p, err := run(t, sb, sandbox.DefaultProcess, baseEnv, "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	pid, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("pid %q: %v", out, err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the setsid child %d is not running before Release: %v", pid, err)
	}
	p.Release()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		waitGone(t, pid)
	}
}

// waitGone waits until pid is gone (a zombie reaped by init), or fails.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d outlived its job", pid)
}

func TestTasksAreCapped(t *testing.T) {
	sb := mustSandbox(t)
	// Each child is a task: with 16 allowed, at most 15 more start.
	script := `perl -e 'my @kids; for (1..40) { my $p = fork; last unless defined $p; if (!$p) { sleep 30; exit } push @kids, $p } print scalar(@kids), "\n"; kill "KILL", @kids'`
	out, _, _ := run(t, sb, sandbox.Limits{Tasks: 16}, baseEnv, script)
	n, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if n >= 16 {
		t.Fatalf("%d children started with tasks=16", n)
	}
}

func TestMemoryLimitKills(t *testing.T) {
	sb := mustSandbox(t)
	out, p, err := run(t, sb, sandbox.Limits{Memory: 32 << 20}, baseEnv, `perl -e '$x = "a" x (256*1024*1024); print "allocated\n"'`)
	if err == nil || strings.Contains(out, "allocated") {
		t.Fatalf("256 MiB allocated under a 32 MiB limit: %q (err %v)", out, err)
	}
	if got := p.Usage().OOMKills; got < 1 {
		t.Fatalf("OOMKills = %d after going over the limit (%v: %s)", got, err, out)
	}
}

func TestOwnRefusesASymlink(t *testing.T) {
	sb := mustSandbox(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "data")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := sb.Own(link); err == nil {
		t.Fatal("Own followed a symlink an app could have planted")
	}
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || fi.Mode().Perm() != 0o755 {
		t.Fatalf("the symlink's target changed: uid %d mode %o", st.Uid, fi.Mode().Perm())
	}
}

func TestSeedLinksReadOnly(t *testing.T) {
	sb := mustSandbox(t)
	shared := t.TempDir()
	os.MkdirAll(filepath.Join(shared, "ab"), 0o755)
	if err := os.WriteFile(filepath.Join(shared, "ab", "entry-d"), []byte("shared"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	os.Chmod(filepath.Dir(cache), 0o711)
	if err := sb.Own(cache); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(cache, "go-build")
	if err := sb.Seed(dst, shared); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dst, "ab", "entry-d"))
	if err != nil || string(b) != "shared" {
		t.Fatalf("seeded entry = %q, %v", b, err)
	}
	out, _, err := run(t, sb, sandbox.DefaultProcess, baseEnv,
		"echo poisoned > "+filepath.Join(dst, "ab", "entry-d")+"; touch "+filepath.Join(dst, "ab", "new")+" && echo added")
	if !strings.Contains(out, "added") {
		t.Errorf("the app cannot add to its own seeded cache: %q (%v)", out, err)
	}
	if b, _ := os.ReadFile(filepath.Join(shared, "ab", "entry-d")); string(b) != "shared" {
		t.Fatalf("the app changed the shared cache through its seed: %q", b)
	}
}
