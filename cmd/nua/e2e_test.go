package main_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2EPushSampleApps pushes the three sample apps with the real git and
// ssh clients and checks each answers through Traefik when the push returns.
func TestE2EPushSampleApps(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	tests := []struct {
		name, sample, want, detected string
	}{
		{"go", "goapp", "hello from goapp world", "Go app detected"},
		{"static", "static", "nua-static-sample-index", "Static"},
		{"procfile", "procfile", "hello from procfile world", "Procfile app detected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := testutil.NewRepo(t, tt.sample)
			out, code := s.Push(repo, tt.sample, "main")
			if code != 0 {
				t.Fatalf("git push: exit %d\n%s\nserver log:\n%s", code, out, s.Log())
			}
			for _, want := range []string{"remote: -----> " + tt.detected, "remote: -----> Launching...", "remote:        Released v1", "remote:        http://" + tt.sample + ".localhost:"} {
				if !strings.Contains(out, want) {
					t.Errorf("push output lacks %q:\n%s", want, out)
				}
			}
			status, body := s.Get(tt.sample, "/")
			if status != 200 || !strings.Contains(body, tt.want) {
				t.Fatalf("GET / right after the push = %d %q, want 200 with %q", status, body, tt.want)
			}
		})
	}

	t.Run("static site hides dotfiles", func(t *testing.T) {
		if status, _ := s.Get("static", "/.git/config"); status != 404 {
			t.Fatalf("GET /.git/config = %d, want 404", status)
		}
	})

	t.Run("logs show process output", func(t *testing.T) {
		testutil.Eventually(t, 10*time.Second, "worker lines in logs", func() (bool, string) {
			out, _ := s.SSH(nil, "logs", "procfile", "-n", "50")
			return strings.Contains(out, "app[worker.1]: worker tick") && strings.Contains(out, "app[web.1]: procfile web listening"), out
		})
		out, _ := s.SSH(nil, "logs", "procfile")
		for _, want := range []string{"nua[deploy]: built", "nua[deploy]: switched traffic", "nua[deploy]: released v1"} {
			if !strings.Contains(out, want) {
				t.Errorf("logs lack the deploy event %q:\n%s", want, out)
			}
		}
		out, code := s.SSH(nil, "logs", "procfile", "-p", "web")
		if code != 0 || strings.Contains(out, "worker.1") {
			t.Fatalf("logs -p web: exit %d, shows other types:\n%s", code, out)
		}
	})

	t.Run("logs -t follows", func(t *testing.T) {
		var buf testutil.Buffer
		cmd := sshCmd(s, "logs", "procfile", "-n", "0", "-t")
		cmd.Stdout = &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		testutil.Eventually(t, 10*time.Second, "a new worker line while following", func() (bool, string) {
			return strings.Contains(buf.String(), "app[worker.1]: worker tick"), buf.String()
		})
	})

	t.Run("config:set restarts with the value", func(t *testing.T) {
		out, code := s.SSH(nil, "config:set", "goapp", "GREETING=there", "COLOR=blue")
		if code != 0 {
			t.Fatalf("config:set: exit %d\n%s", code, out)
		}
		if status, body := s.Get("goapp", "/"); status != 200 || !strings.Contains(body, "hello from goapp there") {
			t.Fatalf("GET / after config:set = %d %q, want the new greeting", status, body)
		}
		out, _ = s.CLI(nil, "config", "goapp")
		if !strings.Contains(out, "GREETING:") || !strings.Contains(out, "there") {
			t.Fatalf("config goapp:\n%s", out)
		}
		if _, code := s.CLI(nil, "config:unset", "goapp", "COLOR"); code != 0 {
			t.Fatalf("config:unset: exit %d", code)
		}
		if status, _ := s.Get("goapp", "/env/COLOR"); status != 404 {
			t.Fatalf("GET /env/COLOR after unset = %d, want 404", status)
		}
		if status, body := s.Get("goapp", "/env/PS"); status != 200 || body != "web.1" {
			t.Fatalf("GET /env/PS = %d %q, want web.1", status, body)
		}
	})

	t.Run("restart replaces the processes", func(t *testing.T) {
		_, before := s.Get("goapp", "/env/NUA_RELEASE")
		ps, _ := s.SSH(nil, "ps", "goapp")
		pid := psField(t, ps, "web.1", 2)
		out, code := s.SSH(nil, "restart", "goapp")
		if code != 0 {
			t.Fatalf("restart: exit %d\n%s", code, out)
		}
		if status, _ := s.Get("goapp", "/"); status != 200 {
			t.Fatalf("GET / after restart = %d", status)
		}
		ps, _ = s.SSH(nil, "ps", "goapp")
		if psField(t, ps, "web.1", 2) == pid {
			t.Fatalf("web.1 kept pid %s across restart:\n%s", pid, ps)
		}
		if _, after := s.Get("goapp", "/env/NUA_RELEASE"); after != before {
			t.Fatalf("restart changed the release from %s to %s", before, after)
		}
	})

	t.Run("crashed process is restarted", func(t *testing.T) {
		ps, _ := s.SSH(nil, "ps", "goapp")
		pid, restarts := psField(t, ps, "web.1", 2), psField(t, ps, "web.1", 4)
		s.Get("goapp", "/crash")
		// First the crash itself, as nua saw it: the app's last words and
		// its exit status 1 (a stop by nua would be a signal).
		testutil.Eventually(t, 20*time.Second, "the crash in the logs", func() (bool, string) {
			out, _ := s.SSH(nil, "logs", "goapp", "-p", "web", "-n", "50")
			return strings.Contains(out, "app[web.1]: goapp crashing on request") &&
				strings.Contains(out, "web.1]: Process exited: exit status 1"), out
		})
		// Then the restart: one more in RESTARTS, a new pid, up and serving.
		testutil.Eventually(t, 20*time.Second, "web.1 restarted after the crash", func() (bool, string) {
			ps, _ := s.SSH(nil, "ps", "goapp")
			return psField(t, ps, "web.1", 4) == plusOne(t, restarts) && psField(t, ps, "web.1", 1) == "up" &&
				psField(t, ps, "web.1", 2) != pid, ps
		})
		// "up" means started: the new process serves once it has bound its
		// port, a moment later.
		testutil.Eventually(t, 20*time.Second, "GET / serving after the crash and restart", func() (bool, string) {
			status, body := s.Get("goapp", "/")
			return status == 200, fmt.Sprintf("GET / = %d %q", status, body)
		})
	})

	t.Run("no detectable app", func(t *testing.T) {
		repo := testutil.NewRepo(t, "empty")
		out, code := s.Push(repo, "empty", "main")
		if code == 0 || !strings.Contains(out, "nua looks for") {
			t.Fatalf("push of an empty app: exit %d, want failure naming what nua looks for:\n%s", code, out)
		}
	})
}

// TestE2ECommandDoor checks keys, the SSH and socket doors, and bad input.
func TestE2ECommandDoor(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)

	if out, code := s.SSH(nil, "apps:create", "demo"); code != 0 {
		t.Fatalf("apps:create: exit %d\n%s", code, out)
	}
	for _, door := range []struct {
		name string
		run  func(args ...string) (string, int)
	}{
		{"ssh", func(a ...string) (string, int) { return s.SSH(nil, a...) }},
		{"socket", func(a ...string) (string, int) { return s.CLI(nil, a...) }},
	} {
		t.Run(door.name, func(t *testing.T) {
			if out, code := door.run("apps"); code != 0 || !strings.Contains(out, "demo") {
				t.Fatalf("apps: exit %d\n%s", code, out)
			}
			bad := []struct {
				name string
				args []string
				want string
			}{
				{"no command", nil, "USAGE"},
				{"unknown command", []string{"frobnicate"}, "unknown command"},
				{"shell command", []string{"ls;", "rm", "-rf", "/"}, "unknown command"},
				{"dotdot app", []string{"apps:create", "../x"}, "app name"},
				{"uppercase app", []string{"apps:create", "A"}, "app name"},
				{"long app", []string{"apps:create", strings.Repeat("a", 64)}, "app name"},
				{"unicode app", []string{"apps:create", "café"}, "app name"},
				{"empty app", []string{"apps:create", ""}, "app name"}, // ssh drops the empty word: usage
				{"bad config", []string{"config:set", "demo", "1X=2"}, "config key"},
				{"config no equals", []string{"config:set", "demo", "GOOD=1", "novalue"}, "KEY=value"},
				{"destroy unconfirmed", []string{"apps:destroy", "demo"}, "--confirm demo"},
				{"hidden hook", []string{"hook:pre-receive", "--repo", "/etc"}, "unknown command"},
			}
			for _, tt := range bad {
				out, code := door.run(tt.args...)
				if door.name == "socket" && tt.name == "hidden hook" {
					continue // the socket door is where git hooks report
				}
				if door.name == "ssh" && tt.name == "empty app" {
					tt.want = "usage: nua apps:create APP"
				}
				if code == 0 || !strings.Contains(out, tt.want) {
					t.Errorf("%s: exit %d, want non-zero with %q:\n%s", tt.name, code, tt.want, out)
				}
			}
			if out, _ := door.run("config", "demo", "--shell"); strings.Contains(out, "GOOD") {
				t.Fatalf("a refused config:set changed the config:\n%s", out)
			}
		})
	}

	t.Run("data flag after the command", func(t *testing.T) {
		out, code := s.Exec(nil, "apps", "--data", s.Data)
		if code != 0 || !strings.Contains(out, "demo") {
			t.Fatalf("nua apps --data DIR: exit %d\n%s", code, out)
		}
		out, code = s.ExecEnv([]string{"NUA_DATA=" + s.Data}, "apps")
		if code != 0 || !strings.Contains(out, "demo") {
			t.Fatalf("NUA_DATA=DIR nua apps: exit %d\n%s", code, out)
		}
	})

	t.Run("unknown key refused", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other")
		testutil.Run(t, "", nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other)
		out, code := s.SSHWithKey(other, nil, "apps")
		if code == 0 || strings.Contains(out, "demo") {
			t.Fatalf("unknown key: exit %d\n%s", code, out)
		}
	})

	t.Run("keys", func(t *testing.T) {
		if out, code := s.SSH(strings.NewReader("not a key"), "keys:add", "admin", "junk"); code == 0 {
			t.Fatalf("keys:add of garbage succeeded:\n%s", out)
		}
		other := filepath.Join(t.TempDir(), "second")
		testutil.Run(t, "", nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other)
		pub, _ := os.ReadFile(other + ".pub")
		if out, code := s.SSH(bytes.NewReader(pub), "keys:add", "admin", "second"); code != 0 {
			t.Fatalf("keys:add over ssh: exit %d\n%s", code, out)
		}
		if out, code := s.SSHWithKey(other, nil, "apps"); code != 0 {
			t.Fatalf("added key refused: exit %d\n%s", code, out)
		}
		if out, code := s.CLI(nil, "keys:remove", "admin", "second"); code != 0 {
			t.Fatalf("keys:remove: exit %d\n%s", code, out)
		}
		if _, code := s.SSHWithKey(other, nil, "apps"); code == 0 {
			t.Fatal("removed key still accepted")
		}
		out, _ := s.SSH(nil, "keys")
		if !strings.Contains(out, "tester") || strings.Contains(out, "second") {
			t.Fatalf("keys:\n%s", out)
		}
	})

	t.Run("destroy", func(t *testing.T) {
		if out, code := s.SSH(nil, "apps:destroy", "demo", "--confirm", "demo"); code != 0 {
			t.Fatalf("apps:destroy: exit %d\n%s", code, out)
		}
		if out, _ := s.SSH(nil, "apps"); strings.Contains(out, "demo") {
			t.Fatalf("destroyed app still listed:\n%s", out)
		}
		if _, err := os.Stat(filepath.Join(s.Data, "repos", "demo.git")); !os.IsNotExist(err) {
			t.Fatalf("repository survived destroy: %v", err)
		}
	})
}

// TestE2EGit checks git behaves as with any git server: incremental, force,
// no-op and racing pushes, the deploy branch, and failed builds.
func TestE2EGit(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "goapp")
	mustPush(t, s, repo, "app")

	t.Run("incremental push", func(t *testing.T) {
		testutil.Commit(t, repo, "NOTES", "one\n")
		editGreeting(t, repo, "incremental")
		out, code := s.Push(repo, "app", "main")
		if code != 0 {
			t.Fatalf("incremental push: exit %d\n%s", code, out)
		}
		if _, body := s.Get("app", "/"); !strings.Contains(body, "incremental") {
			t.Fatalf("GET / after incremental push = %q", body)
		}
	})

	t.Run("no-op push", func(t *testing.T) {
		out, code := s.Push(repo, "app", "main")
		if code != 0 || !strings.Contains(out, "Everything up-to-date") {
			t.Fatalf("no-op push: exit %d\n%s", code, out)
		}
	})

	t.Run("other branch refused", func(t *testing.T) {
		out, code := s.Push(repo, "app", "main:feature")
		if code == 0 || !strings.Contains(out, "deploys the main branch") {
			t.Fatalf("push to feature: exit %d\n%s", code, out)
		}
		if out, _ := s.Git(repo, "ls-remote", s.Remote("app")); strings.Contains(out, "feature") {
			t.Fatalf("feature branch was created:\n%s", out)
		}
	})

	t.Run("failed build keeps the running release", func(t *testing.T) {
		before := testutil.Run(t, repo, nil, "git", "rev-parse", "HEAD")
		broken, _ := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "apps", "broken-go", "main.go"))
		testutil.Commit(t, repo, "main.go", string(broken))
		out, code := s.Push(repo, "app", "main")
		if code == 0 || !strings.Contains(out, `remote:        ./main.go:8:17: cannot use "5000"`) {
			t.Fatalf("push of a compile error: exit %d, want failure with the compiler's message\n%s", code, out)
		}
		if _, body := s.Get("app", "/"); !strings.Contains(body, "incremental") {
			t.Fatalf("GET / after failed push = %q, want the previous release", body)
		}
		if remote := lsRemote(t, s, repo, "app"); remote != before {
			t.Fatalf("main on the server = %s, want %s (the deployed commit)", remote, before)
		}
		testutil.Run(t, repo, nil, "git", "reset", "-q", "--hard", before)
	})

	t.Run("force push", func(t *testing.T) {
		testutil.Run(t, repo, nil, "git", "reset", "-q", "--hard", "HEAD~1")
		editGreeting(t, repo, "forced")
		if out, code := s.Push(repo, "app", "main"); code == 0 {
			t.Fatalf("non-fast-forward push without --force succeeded\n%s", out)
		}
		out, code := s.Push(repo, "app", "--force", "main")
		if code != 0 {
			t.Fatalf("force push: exit %d\n%s", code, out)
		}
		if _, body := s.Get("app", "/"); !strings.Contains(body, "forced") {
			t.Fatalf("GET / after force push = %q", body)
		}
	})

	t.Run("simultaneous pushes are serialised", func(t *testing.T) {
		base := testutil.Run(t, repo, nil, "git", "rev-parse", "HEAD")
		clones := make([]string, 2)
		for i := range clones {
			clones[i] = t.TempDir()
			testutil.Run(t, "", nil, "git", "clone", "-q", repo, clones[i])
			editGreeting(t, clones[i], []string{"racer-a", "racer-b"}[i])
		}
		var wg sync.WaitGroup
		outs, codes := make([]string, 2), make([]int, 2)
		for i := range clones {
			wg.Go(func() { outs[i], codes[i] = s.Push(clones[i], "app", "main") })
		}
		wg.Wait()
		won := -1
		for i, c := range codes {
			if c == 0 {
				if won >= 0 {
					t.Fatalf("both racing pushes succeeded:\n%s\n%s", outs[0], outs[1])
				}
				won = i
			}
		}
		if won < 0 {
			t.Fatalf("no racing push succeeded:\n%s\n%s", outs[0], outs[1])
		}
		lost := 1 - won
		if !strings.Contains(outs[lost], "rejected") {
			t.Fatalf("losing push did not say it was rejected:\n%s", outs[lost])
		}
		head := testutil.Run(t, clones[won], nil, "git", "rev-parse", "HEAD")
		if remote := lsRemote(t, s, repo, "app"); remote != head || remote == base {
			t.Fatalf("main on the server = %s, want the winner %s", remote, head)
		}
		if _, body := s.Get("app", "/"); !strings.Contains(body, []string{"racer-a", "racer-b"}[won]) {
			t.Fatalf("GET / = %q, want the winner's greeting", body)
		}
	})
}

// TestE2ERestart checks SIGTERM stops everything and a new server brings
// every app back from the store.
func TestE2ERestart(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "procfile")
	mustPush(t, s, repo, "survivor")
	traefik := testutil.ChildPID(s.PID(), "traefik")
	web := testutil.ChildPID(s.PID(), "server.pl")
	if traefik == 0 || web == 0 {
		t.Fatalf("children of nua: traefik=%d web=%d", traefik, web)
	}
	s.Stop()
	if status, _ := s.Get("survivor", "/"); status != 0 {
		t.Fatalf("GET after SIGTERM = %d, want no answer", status)
	}
	for _, pid := range []int{traefik, web} {
		if _, err := os.Stat(filepath.Join("/proc", itoa(pid))); err == nil {
			t.Fatalf("process %d survived the server's SIGTERM", pid)
		}
	}
	s.Start()
	if status, body := s.Get("survivor", "/"); status != 200 || !strings.Contains(body, "hello from procfile") {
		t.Fatalf("GET after restart = %d %q", status, body)
	}
}

// TestE2EPostdeploy pushes an app whose app.json names a postdeploy
// script: it runs once, after the first deploy, in the app's release with
// its config; a second push does not run it again.
func TestE2EPostdeploy(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "procfile")
	testutil.Commit(t, repo, "app.json", `{"scripts": {"postdeploy": "echo seeding as $(id -u) with GREETING=$GREETING"}}`)
	if out, code := s.SSH(nil, "apps:create", "seeded"); code != 0 {
		t.Fatalf("apps:create: exit %d\n%s", code, out)
	}
	if out, code := s.SSH(nil, "config:set", "seeded", "GREETING=hi"); code != 0 {
		t.Fatalf("config:set: exit %d\n%s", code, out)
	}
	out := mustPush(t, s, repo, "seeded", "remote: -----> Running postdeploy: echo seeding", "remote:        seeding as ")
	if !strings.Contains(out, "with GREETING=hi") {
		t.Fatalf("postdeploy did not see the app's config:\n%s", out)
	}
	if os.Geteuid() == 0 && strings.Contains(out, "seeding as 0 ") {
		t.Fatalf("postdeploy ran as root:\n%s", out)
	}
	testutil.Commit(t, repo, "NOTES", "again\n")
	if out := mustPush(t, s, repo, "seeded"); strings.Contains(out, "postdeploy") {
		t.Fatalf("the second push ran postdeploy again:\n%s", out)
	}
}

// TestE2ECron pushes an app whose app.json has a job every minute: cron
// lists it, cron:run starts it at once, and the scheduler runs it on its
// own within the minute, each run a one-off of the current release, as
// the app's user, its output in logs as cron.1.
func TestE2ECron(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "procfile")
	testutil.Commit(t, repo, "app.json", `{"cron": [{"command": "echo tick as $(id -u) at $(date +%s)", "schedule": "* * * * *"}]}`)
	mustPush(t, s, repo, "ticker")
	if out, code := s.SSH(nil, "cron", "ticker"); code != 0 || !strings.Contains(out, "* * * * *") || !strings.Contains(out, "not since nua started") {
		t.Fatalf("cron ticker: exit %d\n%s", code, out)
	}
	if out, code := s.SSH(nil, "cron:run", "ticker", "1"); code != 0 || !strings.Contains(out, "Started cron.1 of ticker") {
		t.Fatalf("cron:run: exit %d\n%s", code, out)
	}
	if out, code := s.SSH(nil, "cron:run", "ticker", "7"); code == 0 || !strings.Contains(out, "has no cron job 7") {
		t.Fatalf("cron:run of job 7: exit %d, want it refused\n%s", code, out)
	}
	ticks := func() int {
		out, _ := s.SSH(nil, "logs", "ticker", "--ps", "cron")
		if os.Geteuid() == 0 && strings.Contains(out, " as 0 at ") {
			t.Fatalf("a cron job ran as root:\n%s", out)
		}
		return strings.Count(out, "app[cron.1]: tick ")
	}
	testutil.Eventually(t, 30*time.Second, "cron:run's output in the logs", func() (bool, string) { return ticks() >= 1, "" })
	testutil.Eventually(t, 75*time.Second, "the scheduled run's output in the logs", func() (bool, string) { return ticks() >= 2, "" })
	out, _ := s.SSH(nil, "cron", "ticker")
	if !strings.Contains(out, "exit 0") {
		t.Fatalf("cron after runs, want the last exit status:\n%s", out)
	}
}

// TestE2EDisk checks system:df and system:prune on a real data dir, and
// that a server whose disk is below --min-free refuses pushes with a line
// saying why, while the running app keeps serving.
func TestE2EDisk(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	repo := testutil.NewRepo(t, "procfile")
	mustPush(t, s, repo, "keep")
	out, code := s.SSH(nil, "system:df")
	if code != 0 || !regexp.MustCompile(`(?m)^keep\s+\S+`).MatchString(out) || !strings.Contains(out, "free: ") {
		t.Fatalf("system:df: exit %d\n%s", code, out)
	}
	// What an app removed behind nua's back left.
	for _, d := range []string{"cache/ghost", "logs/ghost", "apps/ghost/releases/v1"} {
		if err := os.MkdirAll(filepath.Join(s.Data, d), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.Data, d, "f"), make([]byte, 1<<20), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, code = s.SSH(nil, "system:prune")
	if code != 0 || !strings.Contains(out, "Removed cache/ghost") || !strings.Contains(out, "Removed apps/ghost") || !strings.Contains(out, "3.0M freed") {
		t.Fatalf("system:prune: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(s.Data, "cache", "ghost")); !os.IsNotExist(err) {
		t.Fatalf("cache/ghost after prune: %v", err)
	}
	testutil.Commit(t, repo, "NOTES", "after prune\n")
	mustPush(t, s, repo, "keep") // what the app needs is all there

	// No disk here has 1 TiB free: every build is refused before it starts.
	full := testutil.StartServer(t, "--min-free=1024G")
	out, code = full.Push(repo, "app", "main")
	if code == 0 || !strings.Contains(out, "disk nearly full: ") || !strings.Contains(out, "with less than 1048576 MiB free") || strings.Contains(out, "Building") {
		t.Fatalf("push to a server short of disk: exit %d, want it refused before building:\n%s", code, out)
	}
}
