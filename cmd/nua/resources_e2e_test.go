package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2EResources sets an app's limits with resources:set and checks the
// kernel applies them to the restarted instances, and that an instance
// going over its memory limit shows in ps and logs.
func TestE2EResources(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal("limits apply only as root, and NUA_E2E=require")
		}
		t.Skip("limits apply only when nua runs as root")
	}
	t.Parallel()
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "procfile")
	// hog holds 64 MiB, then sleeps: it runs under the default limit and
	// is killed under a 32 MiB one.
	testutil.Commit(t, repo, "Procfile", "web: exec perl server.pl\nhog: exec perl -e '$x = \"a\" x (64*1024*1024); print \"holding\\n\"; sleep 600'\n")
	if out, code := s.Push(repo, "limits", "main"); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, out)
	}
	testutil.Eventually(t, 20*time.Second, "hog holding its memory", func() (bool, string) {
		out, _ := s.SSH(nil, "logs", "limits", "-p", "hog")
		return strings.Contains(out, "holding"), out
	})

	out, code := s.SSH(nil, "resources:set", "limits", "web", "memory=96M", "cpu=0.5", "tasks=64")
	if code != 0 {
		t.Fatalf("resources:set: exit %d\n%s", code, out)
	}
	out, _ = s.SSH(nil, "resources", "limits")
	if got := strings.Join(strings.Fields(lineOf(out, "web ")), " "); got != "web 96M 0.5 64" {
		t.Errorf("resources' web line = %q, want the limits just set:\n%s", got, out)
	}
	if !strings.Contains(out, "512M (default)") {
		t.Errorf("resources does not show hog's default memory limit:\n%s", out)
	}
	ps, _ := s.SSH(nil, "ps", "limits")
	pid := psField(t, ps, "web.1", 2)
	if got := cgroupValue(t, pid, "memory", "memory.limit_in_bytes"); got != fmt.Sprint(96<<20) {
		t.Errorf("web.1's memory.limit_in_bytes = %s, want %d", got, 96<<20)
	}
	if got := cgroupValue(t, pid, "pids", "pids.max"); got != "64" {
		t.Errorf("web.1's pids.max = %s, want 64", got)
	}
	if got := cgroupValue(t, pid, "cpu", "cpu.cfs_quota_us"); got != "50000" {
		t.Errorf("web.1's cpu.cfs_quota_us = %s, want 50000 (half of a 100000 period)", got)
	}
	if status, _ := s.Get("limits", "/"); status != 200 {
		t.Errorf("GET / after resources:set = %d, want 200", status)
	}

	if out, code := s.SSH(nil, "resources:set", "limits", "hog", "memory=32M"); code != 0 {
		t.Fatalf("resources:set hog: exit %d\n%s", code, out)
	}
	testutil.Eventually(t, 30*time.Second, "hog OOM-killed, in ps and logs", func() (bool, string) {
		ps, _ := s.SSH(nil, "ps", "limits")
		logs, _ := s.SSH(nil, "logs", "limits", "-p", "hog")
		return strings.Contains(ps, "hog.1 was killed") && strings.Contains(logs, "OOM-killed"), ps + logs
	})

	for _, bad := range [][]string{
		{"limits", "web", "memory=1"},
		{"limits", "web", "cpu=-1"},
		{"limits", "web", "tasks=lots"},
		{"limits", "web", "swap=1G"},
		{"limits", "../etc", "memory=64M"},
	} {
		out, code := s.SSH(nil, append([]string{"resources:set"}, bad...)...)
		if code == 0 || !strings.Contains(out, " !     ") {
			t.Errorf("resources:set %v = exit %d, want a refusal:\n%s", bad, code, out)
		}
	}
	out, _ = s.SSH(nil, "resources", "limits")
	if !strings.Contains(lineOf(out, "web "), " 96M ") {
		t.Errorf("a refused resources:set changed the limits:\n%s", out)
	}
}

// cgroupValue reads file of the v1 controller's cgroup of pid.
func cgroupValue(t *testing.T, pid, controller, file string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && (parts[1] == controller || strings.Contains(","+parts[1]+",", ","+controller+",")) {
			v, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", controller, parts[2], file))
			if err != nil {
				t.Fatalf("pid %s: %v", pid, err)
			}
			return strings.TrimSpace(string(v))
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skip("this host has cgroup v2: the check reads v1 files")
	}
	t.Fatalf("pid %s has no %s cgroup:\n%s", pid, controller, b)
	return ""
}

// lineOf returns the first line of out that starts with prefix.
func lineOf(out, prefix string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}
