package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// procfileRepo is the Procfile sample app with its Procfile replaced and
// extra files added, committed in a new repository.
func procfileRepo(t *testing.T, procfile string, files map[string]string) string {
	t.Helper()
	repo := testutil.NewRepo(t, "procfile")
	files["Procfile"] = procfile
	for name, content := range files {
		testutil.Commit(t, repo, name, content)
	}
	return repo
}

const perlWeb = "web: exec perl server.pl\n"

// TestE2EScale checks ps:scale starts and stops instances behind the
// route, refuses bad counts, and persists across a daemon restart.
func TestE2EScale(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, "--max-scale", "5")
	repo := testutil.NewRepo(t, "goapp")
	mustPush(t, s, repo, "app")
	if out, code := s.SSH(nil, "ps:scale", "app", "web=3"); code != 0 {
		t.Fatalf("ps:scale web=3: exit %d\n%s", code, out)
	}
	ps, _ := s.SSH(nil, "ps", "app")
	for _, name := range []string{"web.1", "web.2", "web.3"} {
		if psField(t, ps, name, 1) != "up" {
			t.Fatalf("%s not up:\n%s", name, ps)
		}
	}
	ports := map[string]bool{}
	for i := 0; i < 30 && len(ports) < 3; i++ {
		status, port := s.Get("app", "/env/PORT")
		if status != 200 {
			t.Fatalf("GET /env/PORT = %d", status)
		}
		ports[port] = true
	}
	if len(ports) != 3 {
		t.Fatalf("requests reached %d instances, want 3: %v", len(ports), ports)
	}
	for _, args := range [][]string{{"nope=1"}, {"web=-1"}, {"web=6"}, {"web"}, {"web=1", "web=2"}} {
		out, code := s.SSH(nil, append([]string{"ps:scale", "app"}, args...)...)
		if code == 0 {
			t.Errorf("ps:scale %v succeeded:\n%s", args, out)
		}
	}
	if out, code := s.SSH(nil, "ps:scale", "app", "web=2"); code != 0 {
		t.Fatalf("ps:scale web=2: exit %d\n%s", code, out)
	}
	s.Stop()
	s.Start()
	ps, _ = s.SSH(nil, "ps", "app")
	if psField(t, ps, "web.2", 1) != "up" || strings.Contains(ps, "web.3") {
		t.Fatalf("after a daemon restart, want web.1 and web.2:\n%s", ps)
	}
}

// TestE2EBrokenReleasesNeverGoLive pushes releases that crash, never listen,
// fail their health check or fail their release command: each push fails
// with the reason and the previous release keeps serving.
func TestE2EBrokenReleasesNeverGoLive(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, "--boot-timeout", "4s")
	good := procfileRepo(t, perlWeb+"release: echo migrated > \"$NUA_DATA_DIR/migrated\"\n", map[string]string{})
	mustPush(t, s, good, "app")
	if _, err := os.Stat(filepath.Join(s.Data, "apps", "app", "data", "migrated")); err != nil {
		t.Fatalf("release command did not run: %v", err)
	}
	tests := []struct {
		name, procfile, appJSON, want string
	}{
		{"crashes", "web: echo boom; exit 1\n", "", "boom"},
		{"never listens", "web: echo sleeping; exec sleep 600\n", "", "did not listen on PORT"},
		{"fails its health check", perlWeb, `{"healthchecks":{"web":[{"path":"/missing","attempts":2,"wait":1}]}}`, "health check GET /missing"},
		{"fails its release command", perlWeb + "release: echo cannot migrate; exit 3\n", "", "release command"},
		{"has a broken app.json", perlWeb, `{"formation":`, "app.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := filepath.Join(t.TempDir(), "r")
			testutil.Run(t, "", nil, "git", "clone", "-q", good, repo)
			files := map[string]string{"Procfile": tt.procfile}
			if tt.appJSON != "" {
				files["app.json"] = tt.appJSON
			}
			for name, content := range files {
				testutil.Commit(t, repo, name, content)
			}
			out, code := s.Push(repo, "app", "main")
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Fatalf("push: exit %d, want failure showing %q:\n%s", code, tt.want, out)
			}
			if status, body := s.Get("app", "/"); status != 200 || !strings.Contains(body, "hello from procfile") {
				t.Fatalf("GET / after the failed push = %d %q, want the previous release", status, body)
			}
		})
	}
	out, _ := s.SSH(nil, "releases", "app")
	if !strings.Contains(out, "failed") || !strings.Contains(out, "*v1 ") {
		t.Fatalf("releases should list failed releases and v1 current:\n%s", out)
	}
}

// TestE2EZeroDowntime redeploys and reconfigures under a steady request
// loop and counts failed requests.
func TestE2EZeroDowntime(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "goapp")
	mustPush(t, s, repo, "app")
	var failed, total atomic.Int64
	stop := hammer(s, "app", &failed, &total)
	for i := range 3 {
		if out, code := s.SSH(nil, "config:set", "app", fmt.Sprintf("ROUND=%d", i)); code != 0 {
			t.Fatalf("config:set: exit %d\n%s", code, out)
		}
		testutil.Commit(t, repo, "NOTES", fmt.Sprintf("round %d\n", i))
		mustPush(t, s, repo, "app")
	}
	if out, code := s.SSH(nil, "restart", "app"); code != 0 {
		t.Fatalf("restart: exit %d\n%s", code, out)
	}
	stop()
	if failed.Load() != 0 || total.Load() < 10 {
		t.Fatalf("%d of %d requests failed during deploys", failed.Load(), total.Load())
	}
	t.Logf("%d requests, none failed, during 3 config changes, 3 pushes and a restart", total.Load())
}

// TestE2ERollback checks rollback brings back an earlier build and config
// without a rebuild, and refuses releases that cannot come back.
func TestE2ERollback(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, "--keep-releases", "2")
	repo := testutil.NewRepo(t, "goapp")
	if out, code := s.Push(repo, "app", "main"); code != 0 { // v1
		t.Fatalf("push: exit %d\n%s", code, out)
	}
	editGreeting(t, repo, "forced")
	if out, code := s.Push(repo, "app", "main"); code != 0 { // v2
		t.Fatalf("push: exit %d\n%s", code, out)
	}
	out, code := s.SSH(nil, "rollback", "app")
	if code != 0 || strings.Contains(out, "Compiling") {
		t.Fatalf("rollback: exit %d (must not rebuild)\n%s", code, out)
	}
	if _, body := s.Get("app", "/"); !strings.Contains(body, "hello from goapp world") {
		t.Fatalf("GET / after rollback = %q, want v1's greeting", body)
	}
	rels, _ := s.SSH(nil, "releases", "app")
	if !strings.Contains(rels, "*v3 ") || !strings.Contains(rels, "Rollback to v1") {
		t.Fatalf("releases:\n%s", rels)
	}
	for _, tt := range []struct{ arg, want string }{
		{"v99", "does not exist"},
		{"v3", "current release"},
		{"banana", "not a release version"},
	} {
		if out, code := s.SSH(nil, "rollback", "app", tt.arg); code == 0 || !strings.Contains(out, tt.want) {
			t.Errorf("rollback %s: exit %d, want %q:\n%s", tt.arg, code, tt.want, out)
		}
	}
	s.SSH(nil, "config:set", "app", "N=1")                 // v4, still v1's build
	for _, g := range []string{"racer-a", "incremental"} { // v5, v6: 2 builds kept, v1's pruned
		editGreeting(t, repo, g)
		mustPush(t, s, repo, "app")
	}
	if _, err := os.Stat(filepath.Join(s.Data, "apps", "app", "releases", "v1")); !os.IsNotExist(err) {
		t.Fatalf("v1's build was not pruned: %v", err)
	}
	if out, code := s.SSH(nil, "rollback", "app", "v1"); code == 0 || !strings.Contains(out, "pruned") {
		t.Fatalf("rollback to a pruned build: exit %d\n%s", code, out)
	}
	if _, body := s.Get("app", "/"); !strings.Contains(body, "incremental") {
		t.Fatalf("a refused rollback changed the app: %q", body)
	}
}

// TestE2EStopStartAndCrashLoop checks ps:stop survives a daemon restart,
// ps:start brings the app back, and a crash loop backs off.
func TestE2EStopStartAndCrashLoop(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := procfileRepo(t, perlWeb+"crasher: echo crashing; exit 1\n", map[string]string{})
	mustPush(t, s, repo, "app")
	start := time.Now()
	testutil.Eventually(t, 20*time.Second, "crasher restarted twice", func() (bool, string) {
		ps, _ := s.SSH(nil, "ps", "app")
		n, _ := strconv.Atoi(psField(t, ps, "crasher.1", 4))
		return n >= 2, ps
	})
	// Backoff 1s, 2s, 4s...: at most about log2(elapsed)+1 restarts so far.
	ps, _ := s.SSH(nil, "ps", "app")
	if n, _ := strconv.Atoi(psField(t, ps, "crasher.1", 4)); n > 5 {
		t.Fatalf("crasher restarted %d times in %s: no backoff\n%s", n, time.Since(start), ps)
	}
	if out, code := s.SSH(nil, "ps:stop", "app"); code != 0 {
		t.Fatalf("ps:stop: exit %d\n%s", code, out)
	}
	if status, _ := s.Get("app", "/"); status != 404 {
		t.Fatalf("GET / of a stopped app = %d, want 404", status)
	}
	s.Stop()
	s.Start()
	if ps, _ := s.SSH(nil, "ps", "app"); !strings.Contains(ps, "no processes") {
		t.Fatalf("a stopped app came back after a daemon restart:\n%s", ps)
	}
	if out, code := s.SSH(nil, "ps:start", "app"); code != 0 {
		t.Fatalf("ps:start: exit %d\n%s", code, out)
	}
	if status, _ := s.Get("app", "/"); status != 200 {
		t.Fatalf("GET / after ps:start = %d", status)
	}
}

// TestE2EKill9LeavesNoOrphans kills the daemon with SIGKILL: no app process
// or Traefik survives holding a port, and the next start restores the app.
func TestE2EKill9LeavesNoOrphans(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "procfile")
	mustPush(t, s, repo, "app")
	ps, _ := s.SSH(nil, "ps", "app")
	pids := []string{psField(t, ps, "web.1", 2), psField(t, ps, "worker.1", 2)}
	if tr := testutil.ChildPID(s.PID(), "traefik"); tr != 0 {
		pids = append(pids, itoa(tr))
	}
	s.Kill()
	testutil.Eventually(t, 10*time.Second, "children gone after SIGKILL of nua", func() (bool, string) {
		for _, pid := range pids {
			if alive(pid) {
				return false, "pid " + pid + " alive"
			}
		}
		return true, ""
	})
	s.Start()
	if status, body := s.Get("app", "/"); status != 200 {
		t.Fatalf("GET / after restart = %d %q", status, body)
	}
}

// alive reports whether pid runs and is not a zombie.
func alive(pid string) bool {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i > 0 && len(stat) > i+2 && stat[i+2] != 'Z'
}

// TestE2ERun runs one-off commands with the app's config, with and without
// a terminal, and checks the exit status comes back.
func TestE2ERun(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "procfile")
	mustPush(t, s, repo, "app")
	s.SSH(nil, "config:set", "app", "GREETING=hi")
	before, _ := s.SSH(nil, "ps", "app")
	out, code := s.SSH(nil, "run", "app", "sh", "-c", "'echo $GREETING $PS; ls server.pl; exit 3'")
	if code != 3 || !strings.Contains(out, "hi run.1") || !strings.Contains(out, "server.pl") {
		t.Fatalf("run over ssh: exit %d, want 3 with config and slug:\n%s", code, out)
	}
	out, code = s.CLI(strings.NewReader("from stdin\n"), "run", "app", "cat")
	if code != 0 || !strings.Contains(out, "from stdin") {
		t.Fatalf("run through the socket: exit %d\n%s", code, out)
	}
	cmd := sshCmd(s, "-tt", "run", "app", "tty")
	b, _ := cmd.CombinedOutput()
	if !strings.Contains(string(b), "/dev/pts/") {
		t.Fatalf("run with ssh -tt has no terminal:\n%s", b)
	}
	if out, code := s.SSH(nil, "run", "app", "no-such-tool"); code == 0 || !strings.Contains(out, "not found") {
		t.Fatalf("run of a missing command: exit %d\n%s", code, out)
	}
	after, _ := s.SSH(nil, "ps", "app")
	if psField(t, after, "web.1", 2) != psField(t, before, "web.1", 2) {
		t.Fatalf("run touched the formation:\n%s\n%s", before, after)
	}
}

// TestE2EAppJSONFormation checks app.json's formation sets the first
// deploy's scale.
func TestE2EAppJSONFormation(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := procfileRepo(t, perlWeb+"worker: exec sh worker.sh\n", map[string]string{
		"app.json": `{"formation":{"web":{"quantity":2},"worker":{"quantity":0}}}`,
	})
	mustPush(t, s, repo, "app")
	ps, _ := s.SSH(nil, "ps", "app")
	if psField(t, ps, "web.2", 1) != "up" || strings.Contains(ps, "worker") {
		t.Fatalf("want web.1, web.2 and no worker:\n%s", ps)
	}
}
