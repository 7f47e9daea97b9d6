package main_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/addons/supervisor"
	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2EAddons drives the three kinds of addon for real: PostgreSQL
// and Redis through sample apps pushed with git over ssh (one made with
// addons:create, one from app.json), MariaDB through mariadb:cli; data
// written through HTTP survives a redeploy, a daemon restart and a kill
// -9 of the daemon, and a crashed server comes back.
func TestE2EAddons(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	t.Cleanup(func() { s.Stop(); reapServices(t, s.Data) })

	mustSSH(t, s, "apps:create", "pgapp")
	out := mustSSH(t, s, "addons:create", "pgapp", "postgres", "--name", "pg-main")
	if !strings.Contains(out, "pg-main attached to pgapp as DATABASE_URL") {
		t.Fatalf("addons:create output:\n%s", out)
	}
	pgRepo := testutil.NewRepo(t, "pgapp")
	mustPush(t, s, pgRepo, "pgapp")
	if status, body := s.Get("pgapp", "/"); status != 200 || !strings.Contains(body, "PostgreSQL 15") {
		t.Fatalf("GET / = %d %q, want the server's version", status, body)
	}
	if status, body := s.Get("pgapp", "/ssl"); status != 200 || body != "true" {
		t.Fatalf("GET /ssl = %d %q: the injected URL must connect over TLS", status, body)
	}
	if status, body := s.Post("pgapp", "/items?v=first"); status != 200 {
		t.Fatalf("POST /items = %d %q", status, body)
	}
	testutil.Commit(t, pgRepo, "README", "redeploy\n")
	mustPush(t, s, pgRepo, "pgapp")
	wantBody(t, s, "pgapp", "/items", "first")

	t.Run("bad input", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"config:unset", "pgapp", "DATABASE_URL"}, "addons:detach pg-main pgapp"},
			{[]string{"config:set", "pgapp", "DATABASE_URL=x"}, "addons:detach pg-main pgapp"},
			{[]string{"addons:create", "pgapp", "oracle"}, "unknown addon kind"},
			{[]string{"addons:create", "pgapp", "postgres"}, "--as"},
			{[]string{"addons:create", "pgapp", "redis", "--name", "pg-main"}, "exists"},
			{[]string{"addons:create", "pgapp", "redis", "--name", "Bad_Name"}, "addon name"},
			{[]string{"addons:create", "pgapp", "redis", "--as", "lower-case"}, "attachment name"},
			{[]string{"addons:detach", "pg-main", "pgapp"}, "addons:destroy"},
			{[]string{"addons:destroy", "pg-main"}, "--confirm pg-main"},
		} {
			out, code := s.SSH(nil, tt.args...)
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Errorf("%v: exit %d, want a refusal saying %q:\n%s", tt.args, code, tt.want, out)
			}
		}
		if out, _ := s.SSH(nil, "addons"); strings.Count(out, "\n") != 2 {
			t.Errorf("refused creates left addons behind:\n%s", out)
		}
	})

	t.Run("pg:psql and pg:info", func(t *testing.T) {
		out, code := s.SSH(strings.NewReader("SELECT 'rows=' || count(*) FROM items;\n"), "pg:psql", "pgapp")
		if code != 0 || !strings.Contains(out, "rows=1") {
			t.Fatalf("pg:psql: exit %d\n%s", code, out)
		}
		// On a terminal: type once psql prompts (it drops what came before).
		cmd := sshCmd(s, "-tt", "pg:psql", "pgapp")
		var term testutil.Buffer
		cmd.Stdout, cmd.Stderr = &term, &term
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		testutil.Eventually(t, 20*time.Second, "psql's prompt", func() (bool, string) {
			return strings.Contains(term.String(), "=>"), term.String()
		})
		io.WriteString(stdin, "\\pset pager off\nSELECT 6*7 AS answer;\n\\q\n")
		if err := cmd.Wait(); err != nil || !strings.Contains(term.String(), "42") || strings.Contains(term.String(), "\r\r\n") {
			t.Fatalf("pg:psql with ssh -tt: %v\n%q", err, term.String())
		}
		if out := mustSSH(t, s, "pg:info", "pgapp"); !strings.Contains(out, "Data Size:") || !strings.Contains(out, "Connections:") {
			t.Fatalf("pg:info:\n%s", out)
		}
	})

	t.Run("mariadb through mariadb:cli", func(t *testing.T) {
		// Attaching restarts the app on a new release with no downtime.
		var failed, total atomic.Int64
		stop := hammer(s, "pgapp", &failed, &total)
		out := mustSSH(t, s, "addons:create", "pgapp", "mariadb", "--as", "MARIADB", "--name", "maria-main")
		stop()
		if !strings.Contains(out, "as MARIADB_URL") {
			t.Fatalf("addons:create mariadb:\n%s", out)
		}
		if failed.Load() > 0 || total.Load() == 0 {
			t.Errorf("%d of %d requests failed while the addon was attached", failed.Load(), total.Load())
		}
		sql := "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('maria-row'); SELECT v FROM t;\n"
		out, code := s.SSH(strings.NewReader(sql), "mariadb:cli", "pgapp")
		if code != 0 || !strings.Contains(out, "maria-row") {
			t.Fatalf("mariadb:cli: exit %d\n%s", code, out)
		}
		wantBody(t, s, "pgapp", "/items", "first") // the app kept serving
	})

	redisRepo := testutil.NewRepo(t, "redisapp")
	out = mustPush(t, s, redisRepo, "redisapp")
	if !strings.Contains(out, "Provisioning the addons of app.json") || !strings.Contains(out, "attached as REDIS_URL") {
		t.Fatalf("the push did not make app.json's redis addon:\n%s", out)
	}
	if status, body := s.Post("redisapp", "/incr?k=hits"); status != 200 || body != "1" {
		t.Fatalf("POST /incr = %d %q", status, body)
	}
	testutil.Commit(t, redisRepo, "README", "redeploy\n")
	if out := mustPush(t, s, redisRepo, "redisapp"); strings.Contains(out, "Provisioning") {
		t.Fatalf("a second deploy made app.json's addons again:\n%s", out)
	}
	if status, body := s.Post("redisapp", "/incr?k=hits"); status != 200 || body != "2" {
		t.Fatalf("POST /incr after a redeploy = %d %q, want 2", status, body)
	}
	if out, code := s.SSH(strings.NewReader("GET hits\n"), "redis:cli", "redisapp"); code != 0 || !strings.Contains(out, "2") {
		t.Fatalf("redis:cli: exit %d\n%s", code, out)
	}

	t.Run("attach across apps", func(t *testing.T) {
		mustSSH(t, s, "addons:attach", "pg-main", "redisapp", "--as", "SHARED")
		if out := mustSSH(t, s, "config:get", "redisapp", "SHARED_URL"); !strings.HasPrefix(out, "postgres://db_pg_main:") {
			t.Fatalf("SHARED_URL = %q", out)
		}
		out, code := s.SSH(nil, "addons:destroy", "pg-main", "--confirm", "pg-main")
		if code == 0 || !strings.Contains(out, "attached to redisapp too") {
			t.Fatalf("destroying an addon attached elsewhere: exit %d\n%s", code, out)
		}
		mustSSH(t, s, "addons:detach", "pg-main", "redisapp")
		if out, code := s.SSH(nil, "config:get", "redisapp", "SHARED_URL"); code == 0 {
			t.Fatalf("SHARED_URL still set after detach: %s", out)
		}
	})

	t.Run("members see their apps' addons only", func(t *testing.T) {
		bob := s.AddUser("bob", false)
		if out, code := s.SSHWithKey(bob, nil, "apps:create", "bobapp"); code != 0 {
			t.Fatalf("apps:create as bob: %s", out)
		}
		if out, _ := s.SSHWithKey(bob, nil, "addons"); strings.Contains(out, "pg-main") {
			t.Fatalf("bob sees another app's addon:\n%s", out)
		}
		for _, args := range [][]string{
			{"addons:info", "pg-main"}, {"addons:attach", "pg-main", "bobapp"},
			{"addons:destroy", "pg-main", "--confirm", "pg-main"}, {"addons", "pgapp"},
			{"pg:psql", "pgapp"}, {"addons:create", "pgapp", "redis"},
		} {
			if out, code := s.SSHWithKey(bob, nil, args...); code == 0 || !strings.Contains(out, "access") {
				t.Errorf("bob ran %v: exit %d\n%s", args, code, out)
			}
		}
	})

	s.Stop()
	s.Start()
	wantBody(t, s, "pgapp", "/items", "first")
	wantBody(t, s, "redisapp", "/get?k=hits", "2")

	// A killed daemon leaves the servers running; the next one replaces
	// them and serves the same data.
	pgPID := supervisor.PIDOf(filepath.Join(s.Data, "services", "postgres", "postgres.pid"))
	s.Kill()
	if pgPID == 0 || supervisor.PIDOf(filepath.Join(s.Data, "services", "postgres", "postgres.pid")) != pgPID {
		t.Fatalf("postgres (pid %d) did not outlive the killed daemon", pgPID)
	}
	s.Start()
	if now := supervisor.PIDOf(filepath.Join(s.Data, "services", "postgres", "postgres.pid")); now == pgPID || now == 0 || supervisor.Runs(pgPID, "/usr/lib/postgresql/15/bin/postgres") {
		t.Errorf("after the restart postgres runs as %d; the killed daemon's (%d) should be gone", now, pgPID)
	}
	if !strings.Contains(s.Log(), "left running by an earlier nua: replacing it") {
		t.Errorf("the restarted daemon did not say it replaced the servers the killed one left:\n%s", s.Log())
	}
	wantBody(t, s, "pgapp", "/items", "first")
	wantBody(t, s, "redisapp", "/get?k=hits", "2")
	if out, code := s.SSH(strings.NewReader("SELECT v FROM t;\n"), "mariadb:cli", "pgapp"); code != 0 || !strings.Contains(out, "maria-row") {
		t.Fatalf("mariadb:cli after kill -9 and restart: exit %d\n%s", code, out)
	}

	t.Run("a crashed server comes back", func(t *testing.T) {
		pidFile := redisPIDFile(t, s.Data)
		pid := supervisor.PIDOf(pidFile)
		if pid == 0 {
			t.Fatalf("no redis-server running for %s", pidFile)
		}
		syscall.Kill(pid, syscall.SIGKILL)
		testutil.Eventually(t, 30*time.Second, "redis back with its data", func() (bool, string) {
			status, body := s.Get("redisapp", "/get?k=hits")
			return status == 200 && body == "2" && supervisor.PIDOf(pidFile) != pid, fmt.Sprint(status, body)
		})
	})

	t.Run("doctor", func(t *testing.T) {
		out := mustSSH(t, s, "doctor")
		for _, want := range []string{"-----> Addon services", "postgres", "PostgreSQL 15", "redis", "mariadb", "running"} {
			if !strings.Contains(out, want) {
				t.Errorf("doctor lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("addons:destroy", func(t *testing.T) {
		mustSSH(t, s, "addons:destroy", "maria-main", "--confirm", "maria-main")
		if out, code := s.SSH(nil, "config:get", "pgapp", "MARIADB_URL"); code == 0 {
			t.Fatalf("MARIADB_URL still set: %s", out)
		}
		if out, code := s.SSH(strings.NewReader("SELECT 1;\n"), "mariadb:cli", "pgapp"); code == 0 {
			t.Fatalf("mariadb:cli after destroy:\n%s", out)
		}
		events := mustSSH(t, s, "events", "pgapp", "-n", "100")
		for _, want := range []string{"addons:create", "addons:destroy", "maria-main", "pg:psql"} {
			if !strings.Contains(events, want) {
				t.Errorf("pgapp's events lack %q:\n%s", want, events)
			}
		}
	})

	t.Run("apps:destroy destroys the app's addons", func(t *testing.T) {
		dir := filepath.Dir(redisPIDFile(t, s.Data))
		out := mustSSH(t, s, "apps:destroy", "redisapp", "--confirm", "redisapp")
		if !strings.Contains(out, "Destroyed addon redis-") {
			t.Fatalf("apps:destroy output:\n%s", out)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("the redis instance's dir is still there: %v", err)
		}
	})
}

func mustSSH(t *testing.T, s *testutil.Server, args ...string) string {
	t.Helper()
	out, code := s.SSH(nil, args...)
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return strings.TrimSpace(out)
}

// wantBody polls GET path of app until it answers 200 with want.
func wantBody(t *testing.T, s *testutil.Server, app, path, want string) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, "GET "+app+path+" = "+want, func() (bool, string) {
		status, body := s.Get(app, path)
		return status == 200 && body == want, fmt.Sprintf("%d %q", status, body)
	})
}

// redisPIDFile is the pid file of the only redis instance.
func redisPIDFile(t *testing.T, data string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(data, "services", "redis", "*", "redis.pid"))
	if len(files) != 1 {
		t.Fatalf("redis pid files: %v, want one", files)
	}
	return files[0]
}

// reapServices kills the servers a failed test left running.
func reapServices(t *testing.T, data string) {
	files, _ := filepath.Glob(filepath.Join(data, "services", "*", "*.pid"))
	more, _ := filepath.Glob(filepath.Join(data, "services", "redis", "*", "redis.pid"))
	for _, f := range append(files, more...) {
		if pid := supervisor.PIDOf(f); pid > 0 {
			t.Logf("killing server %d of %s left running", pid, f)
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}
