package main_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// hostileAttempts are the attempts the hostile sample must report, each
// of which must have been denied: its build's under "build: ".
var hostileAttempts = []string{
	"build: read nua.db", "build: read host key", "build: write victim cache", "build: uid",
	"build: setsid child still running",
	"uid", "read nua.db", "read host key", "read victim env", "read victim slug", "read victim data",
	"write victim data", "write victim cache", "connect nua.sock", "signal victim",
	"allocate past the memory limit", "fork bomb",
}

// hostileReport is what the hostile sample answers on GET /report.
type hostileReport struct {
	Data      string            `json:"data"`
	DataFrom  string            `json:"data_from"`
	Victim    string            `json:"victim"`
	VictimPID int               `json:"victim_pid"`
	UID       int               `json:"uid"`
	Token     string            `json:"build_token"`
	Attempts  map[string]string `json:"attempts"`
}

// TestE2ESandboxHostileApp pushes a victim app and then the hostile
// sample, whose build and web process try every way out of the sandbox
// they know, and checks that each was denied, that nothing the build
// started outlived it, that the hostile app runs neither as root nor as
// nua, and that the victim kept serving.
func TestE2ESandboxHostileApp(t *testing.T) {
	if os.Geteuid() != 0 {
		msg := "the sandbox test needs root: nua sandboxes apps only when it runs as root (run the tests as root, as CI does)"
		if os.Getenv("NUA_E2E") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Parallel()
	s := testutil.StartServer(t)
	// The victim is a process of its own, as a static site (served by
	// the daemon) is not.
	mustPush(t, s, testutil.NewRepo(t, "procfile"), "victim", "remote:        Released v1")
	mustAnswer(t, s, "victim", "hello from procfile", "after the victim's push")
	ps, _ := s.SSH(nil, "ps", "victim")
	victimPID, err := strconv.Atoi(psField(t, ps, "web.1", 2))
	if err != nil {
		t.Fatalf("victim's web.1 pid in ps: %v\n%s", err, ps)
	}

	token := randomToken(t)
	marker := "hostile-setsid-" + token
	t.Cleanup(func() { killSessions(marker) })
	if out, code := s.SSH(nil, "apps:create", "hostile"); code != 0 {
		t.Fatalf("apps:create: exit %d\n%s", code, out)
	}
	if out, code := s.SSH(nil, "config:set", "hostile", "VICTIM=victim", "VICTIM_PID="+itoa(victimPID), "HOSTILE_TOKEN="+token); code != 0 {
		t.Fatalf("config:set: exit %d\n%s", code, out)
	}
	out := mustPush(t, s, testutil.NewRepo(t, "hostile"), "hostile", "remote:        Released v1")
	t.Logf("hostile push:\n%s", out)

	if pids := waitNoProcess(15*time.Second, marker); len(pids) > 0 {
		t.Errorf("the build's setsid child is still running 15s after the push ended: pids %v", pids)
	}
	rep := fetchReport(t, s)
	checkTargets(t, s, rep, victimPID, token)
	// The expected attempts in their order, then any the app added.
	names := slices.Clone(hostileAttempts)
	for _, name := range slices.Sorted(maps.Keys(rep.Attempts)) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		result, ok := rep.Attempts[name]
		switch {
		case !ok:
			t.Errorf("hostile app, attempt %q: not reported", name)
		case !strings.HasPrefix(result, "denied: "):
			t.Errorf("hostile app, attempt %q not denied: %s", name, result)
		}
	}
	checkLeftovers(t, s)
	checkUIDs(t, s, rep)
	checkVictim(t, s, victimPID)
}

// fetchReport asks the hostile app for its report through Traefik; the
// attempts take a while (a fork bomb, an allocation), so the request may
// take up to three minutes.
func fetchReport(t *testing.T, s *testutil.Server) hostileReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://127.0.0.1:%d/report", s.HTTPPort), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "hostile.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET hostile/report: %v\nserver log:\n%s", err, s.Log())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET hostile/report = %d %q (%v)", resp.StatusCode, body, err)
	}
	var rep hostileReport
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("hostile/report is not its JSON: %v\n%s", err, body)
	}
	t.Logf("hostile/report:\n%s", body)
	return rep
}

// checkTargets makes sure the attempts aimed at what exists: a denial of
// a file that is not there, or of another process, would prove nothing.
func checkTargets(t *testing.T, s *testutil.Server, rep hostileReport, victimPID int, token string) {
	t.Helper()
	want, _ := filepath.EvalSymlinks(s.Data)
	if got, _ := filepath.EvalSymlinks(rep.Data); got != want {
		t.Fatalf("the hostile app aimed at data dir %q (found from %s), want %q", rep.Data, rep.DataFrom, s.Data)
	}
	if rep.Token != token {
		t.Fatalf("the hostile build saw HOSTILE_TOKEN %q, want %q: the look for its setsid child proved nothing", rep.Token, token)
	}
	if rep.Victim != "victim" || rep.VictimPID != victimPID {
		t.Fatalf("the hostile app aimed at %s pid %d, want victim pid %d", rep.Victim, rep.VictimPID, victimPID)
	}
	slugs, _ := filepath.Glob(filepath.Join(s.Data, "apps", "victim", "releases", "v*", "server.pl"))
	if len(slugs) == 0 {
		t.Fatalf("no slug of the victim under %s", s.Data)
	}
	for _, name := range []string{"nua.db", "ssh_host_ed25519_key", "nua.sock", "apps/victim/data"} {
		if _, err := os.Stat(filepath.Join(s.Data, name)); err != nil {
			t.Fatalf("target of the hostile app missing: %v", err)
		}
	}
}

// checkLeftovers looks on disk for what the hostile app wrote into the
// victim's dirs, and for processes of its fork bomb still running.
func checkLeftovers(t *testing.T, s *testutil.Server) {
	t.Helper()
	for _, dir := range []string{filepath.Join(s.Data, "cache", "victim"), filepath.Join(s.Data, "apps", "victim", "data")} {
		found, _ := filepath.Glob(filepath.Join(dir, "hostile-was-here*"))
		for _, f := range found {
			t.Errorf("the hostile app wrote into the victim's dir: %s exists", f)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := appProcs("hostile", "/bin/sleep\x00120")
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("the fork bomb's processes are still running 20s after the report: pids %v", left)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkUIDs checks that the hostile app's processes run neither as root
// nor as nua, as seen from /proc and as the app saw itself.
func checkUIDs(t *testing.T, s *testutil.Server, rep hostileReport) {
	t.Helper()
	nuaUID, err := procUID(s.PID())
	if err != nil {
		t.Fatal(err)
	}
	if rep.UID == 0 || rep.UID == nuaUID {
		t.Errorf("the hostile web process says it runs as uid %d (nua's uid is %d)", rep.UID, nuaUID)
	}
	pids := appProcs("hostile", "")
	if len(pids) == 0 {
		t.Errorf("no process with NUA_APP=hostile found in /proc")
	}
	for _, pid := range pids {
		uid, err := procUID(pid)
		if err != nil {
			continue // gone since the scan
		}
		if uid == 0 || uid == nuaUID {
			t.Errorf("hostile process %d (%s) runs as uid %d (nua's uid is %d)", pid, cmdline(pid), uid, nuaUID)
		}
	}
}

// checkVictim checks that the victim still serves from the same process,
// which is not stopped.
func checkVictim(t *testing.T, s *testutil.Server, victimPID int) {
	t.Helper()
	if status, body := s.Get("victim", "/"); status != 200 || !strings.Contains(body, "hello from procfile") {
		t.Errorf("victim after the attacks: GET / = %d %q, want 200 with its greeting", status, body)
	}
	ps, _ := s.SSH(nil, "ps", "victim")
	if got := psField(t, ps, "web.1", 2); got != itoa(victimPID) {
		t.Errorf("victim's web.1 is pid %s after the attacks, was %d: it was restarted\n%s", got, victimPID, ps)
	}
	if state := procState(victimPID); state == "T" || state == "t" {
		t.Errorf("victim's web.1 (pid %d) is stopped (state %s)", victimPID, state)
	}
}

func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// pids lists the processes in /proc.
func pids() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return string(bytes.ReplaceAll(bytes.TrimRight(b, "\x00"), []byte{0}, []byte{' '}))
}

// appProcs lists the processes whose environment has NUA_APP=app and
// whose NUL-separated command line contains argv ("" for any).
func appProcs(app, argv string) []int {
	var out []int
	for _, pid := range pids() {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !slices.Contains(strings.Split(string(env), "\x00"), "NUA_APP="+app) {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmd), argv) {
			out = append(out, pid)
		}
	}
	return out
}

// waitNoProcess waits until no command line contains marker and returns
// the pids of those still there at the deadline.
func waitNoProcess(within time.Duration, marker string) []int {
	deadline := time.Now().Add(within)
	for {
		var found []int
		for _, pid := range pids() {
			if strings.Contains(cmdline(pid), marker) {
				found = append(found, pid)
			}
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return found
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killSessions kills the process groups led by the processes whose
// command line contains marker: the test's own hostile children, which
// would otherwise sleep on for ten minutes.
func killSessions(marker string) {
	for _, pid := range pids() {
		if strings.Contains(cmdline(pid), marker) {
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// procUID returns the real uid of pid.
func procUID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read the uid of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no Uid line in /proc/%d/status", pid)
}

// procState returns the state letter of pid, "" if it is gone.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// TestE2EDataDirInGitCheckout runs the server as `make run` does, with its
// data dir inside a git checkout that root owns: a Go app's build, as its
// own user, still succeeds (git refuses such a repository to other users,
// and the build must not ask it).
func TestE2EDataDirInGitCheckout(t *testing.T) {
	t.Parallel()
	s := testutil.StartServerData(t, func(data string) {
		testutil.Run(t, filepath.Dir(data), nil, "git", "init", "-q")
	})
	mustPush(t, s, testutil.NewRepo(t, "goapp"), "hello")
	if status, body := s.Get("hello", "/"); status != 200 || !strings.Contains(body, "hello from goapp") {
		t.Fatalf("GET hello: %d %q", status, body)
	}
}
