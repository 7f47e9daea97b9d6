package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nua-paas/nua/internal/testutil"
)

// dyno is the memory limit a container gets by default: 512 MiB.
const dyno = 512 << 20

// checkConfined checks that every running container of app, and every
// process in it, has no capability and no way to gain privileges, under
// the default limits, and that a one-off of the app is killed when it
// allocates past its memory limit while one that stays below runs.
func (e *engine) checkConfined(t *testing.T, s *testutil.Server, app string) {
	t.Helper()
	ids := e.containerIDs(t, app)
	if len(ids) == 0 {
		t.Fatalf("no container of %s to check", app)
	}
	for _, id := range ids {
		var c struct {
			State      struct{ Pid int }
			HostConfig struct {
				Memory, NanoCpus, PidsLimit int64
				CapDrop, SecurityOpt        []string
				Binds                       []string
			}
			Mounts []struct{ Type, Source string }
		}
		if err := e.get("/containers/"+id+"/json", &c); err != nil {
			t.Fatal(err)
		}
		if h := c.HostConfig; h.Memory != dyno || h.NanoCpus != 1e9 || h.PidsLimit != 256 {
			t.Errorf("container %.12s: memory %d, CPU %d, pids %d; want %d, 1e9, 256", id, h.Memory, h.NanoCpus, h.PidsLimit, dyno)
		}
		if len(c.HostConfig.Binds) > 0 || len(c.Mounts) > 0 {
			t.Errorf("container %.12s mounts %v %v, want nothing of the host", id, c.HostConfig.Binds, c.Mounts)
		}
		pids := descendants(c.State.Pid)
		if len(pids) < 2 { // the init and the app's process
			t.Fatalf("container %.12s: processes %v, want its init and the app", id, pids)
		}
		for _, pid := range pids {
			if eff, nnp := procStatus(t, pid, "CapEff"), procStatus(t, pid, "NoNewPrivs"); eff != "0000000000000000" || nnp != "1" {
				t.Errorf("container %.12s: process %d has CapEff %s and NoNewPrivs %s; want no capability and no new privileges", id, pid, eff, nnp)
			}
		}
	}
	// 400 MiB fits in the limit; 600 MiB gets the one-off killed (137).
	out, code := s.SSH(nil, "run", app, "sh", "-c", "'dd if=/dev/zero of=/dev/null bs=400M count=1 2>/dev/null && echo 400M fits; dd if=/dev/zero of=/dev/null bs=600M count=1 2>/dev/null; echo 600M status $?'")
	if code != 0 || !strings.Contains(out, "400M fits") || !strings.Contains(out, "600M status 137") {
		t.Fatalf("run allocating past the memory limit: exit %d, want 400M to fit and 600M to be killed:\n%s", code, out)
	}
}

// containerIDs lists the IDs of app's running containers.
func (e *engine) containerIDs(t *testing.T, app string) []string {
	t.Helper()
	var cs []struct {
		ID string `json:"Id"`
	}
	if err := e.get(`/containers/json?filters={"label":["nua.app=`+app+`"]}`, &cs); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

// descendants is pid and every process below it.
func descendants(pid int) []int {
	if pid <= 0 {
		return nil
	}
	out := []int{pid}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(b)) {
		if child, err := strconv.Atoi(f); err == nil {
			out = append(out, descendants(child)...)
		}
	}
	return out
}

// procStatus is the value of field in /proc/PID/status.
func procStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the status of a container's process: %v (is the engine on this host?)", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return ""
}

// addPlatformLookalikes writes into repo, uncommitted, what a push could
// use to steer nua if nua trusted its tree: a bin/nua, first on the
// processes' PATH, that leaves a mark and fails, and an image manifest
// where nua once kept its own, naming an engine that does not exist.
func addPlatformLookalikes(t *testing.T, repo string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(repo, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"pushed bin/nua ran: $*\" >&2\ntouch \"$NUA_DATA_DIR/pushed-nua-ran\"\nexit 1\n"
	if err := os.WriteFile(filepath.Join(repo, "bin", "nua"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := `{"backend":"docker","host":"unix:///nonexistent/engine.sock","image":"sha256:pushed"}`
	if err := os.WriteFile(filepath.Join(repo, ".nua-container.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkLookalikesIgnored checks that app's pushed bin/nua never ran.
func checkLookalikesIgnored(t *testing.T, s *testutil.Server, app string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(s.Data, "apps", app, "data", "pushed-nua-ran")); err == nil {
		t.Fatalf("the pushed bin/nua of %s ran in nua's place", app)
	}
}

// TestE2EPushedPlatformFiles pushes a static site with a bin/nua and an
// image manifest of its own: the site is served by nua's file server, a
// one-off runs on the host, not in a container the manifest names, and
// the pushed bin/nua never runs.
func TestE2EPushedPlatformFiles(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, "--boot-timeout", "10s")
	repo := testutil.NewRepo(t, "static")
	addPlatformLookalikes(t, repo)
	testutil.Commit(t, repo, "NOTES", "with a bin/nua and a .nua-container.json\n")
	mustPush(t, s, repo, "site", "remote: -----> Static app detected")
	if status, body := s.Get("site", "/"); status != 200 || !strings.Contains(body, "nua-static-sample-index") {
		t.Fatalf("GET / = %d %q, want the site's index.html", status, body)
	}
	out, code := s.SSH(nil, "run", "site", "cat", "index.html")
	if code != 0 || !strings.Contains(out, "nua-static-sample-index") {
		t.Fatalf("run cat index.html: exit %d, want the slug's file read on the host:\n%s", code, out)
	}
	checkLookalikesIgnored(t, s, "site")
}

// testBuilder is the CNB builder the test setup makes (containers.sh).
const testBuilder = "nua-cnb-builder:local"

// trustBuilder trusts builder on s, as its operator would.
func trustBuilder(t testing.TB, s *testutil.Server, builder string) {
	t.Helper()
	if out, code := s.SSH(nil, "builders:trust", builder); code != 0 || !strings.Contains(out, "Trusted builder "+builder) {
		t.Fatalf("builders:trust %s: exit %d\n%s", builder, code, out)
	}
}
