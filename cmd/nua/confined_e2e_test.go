package main_test

import (
	"fmt"
	"os"
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
