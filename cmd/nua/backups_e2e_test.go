package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"github.com/nua-paas/nua/internal/testutil"
)

var backupIDRE = regexp.MustCompile(`\b[0-9]{8}T[0-9]{6}Z(-[0-9]+)?\b`)

// TestE2EBackups backs the PostgreSQL sample app up for real: rows
// written through HTTP, a Redis key and a file in its data dir go to the
// local dir and a MinIO bucket at once; destroyed, they come back from
// either, into the app or a new one, and on a second server from a server
// backup; a bad archive or a bucket that refuses the keys fail loudly and
// change nothing; a schedule captures, prunes and drills on its own.
func TestE2EBackups(t *testing.T) {
	t.Parallel()
	m := testutil.StartMinIO(t)
	ctx := context.Background()
	if err := m.Client.MakeBucket(ctx, "nua-backups", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	s := testutil.StartServer(t)
	t.Cleanup(func() { s.Stop(); reapServices(t, s.Data) })

	mustSSH(t, s, "apps:create", "pgapp")
	mustSSH(t, s, "addons:create", "pgapp", "postgres", "--name", "pg-kept")
	mustPush(t, s, testutil.NewRepo(t, "pgapp"), "pgapp")
	for _, v := range []string{"alpha", "beta"} {
		if status, body := s.Post("pgapp", "/items?v="+v); status != 200 {
			t.Fatalf("POST /items = %d %q", status, body)
		}
	}
	mustSSH(t, s, "run", "pgapp", "sh", "-c", `'echo kept-file > "$NUA_DATA_DIR/note.txt"'`)
	mustSSH(t, s, "addons:create", "pgapp", "redis")
	mustSSHIn(t, s, strings.NewReader("SET kept redis-value\n"), "redis:cli", "pgapp")

	secret := strings.NewReader(m.Password + "\n")
	mustSSHIn(t, s, secret, "backups:targets:add", "minio", "s3://nua-backups/e2e", "--endpoint", m.Endpoint, "--access-key", m.User)
	if out := mustSSH(t, s, "backups:targets"); !strings.Contains(out, "s3://nua-backups/e2e") || strings.Contains(out, m.Password) {
		t.Fatalf("backups:targets must list the bucket, never the secret:\n%s", out)
	}

	out := mustSSH(t, s, "backups:capture", "pgapp")
	if !strings.Contains(out, "local: ok") || !strings.Contains(out, "minio: ok") {
		t.Fatalf("backups:capture:\n%s", out)
	}
	id := backupIDRE.FindString(out)
	local := filepath.Join(s.Data, "backups", "pgapp", id+".nua")
	fi, err := os.Stat(local)
	if err != nil {
		t.Fatalf("the local copy: %v", err)
	}
	if _, err := m.Client.StatObject(ctx, "nua-backups", "e2e/pgapp/"+id+".nua", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("the MinIO copy: %v", err)
	}
	if out := mustSSH(t, s, "backups", "pgapp"); !strings.Contains(out, id) || !strings.Contains(out, "local,minio") || strings.Contains(out, "FAILED") {
		t.Fatalf("backups pgapp:\n%s", out)
	}
	if out := mustSSH(t, s, "apps:info", "pgapp"); !strings.Contains(out, "last backup ok") {
		t.Fatalf("apps:info lacks the last backup:\n%s", out)
	}
	if out, code := s.CLI(nil, "backups:download", "pgapp", id); code != 0 || int64(len(out)) != fi.Size() {
		t.Fatalf("backups:download: exit %d, %d bytes, want %d", code, len(out), fi.Size())
	}

	destroy := func(t *testing.T) {
		t.Helper()
		mustSSHIn(t, s, strings.NewReader("DELETE FROM items;\n"), "pg:psql", "pgapp")
		mustSSH(t, s, "run", "pgapp", "sh", "-c", `'rm "$NUA_DATA_DIR/note.txt"'`)
		mustSSHIn(t, s, strings.NewReader("DEL kept\n"), "redis:cli", "pgapp")
		wantBody(t, s, "pgapp", "/items", "")
	}
	restored := func(t *testing.T) {
		t.Helper()
		wantBody(t, s, "pgapp", "/items", "alpha\nbeta")
		if out := mustSSH(t, s, "run", "pgapp", "sh", "-c", `'cat "$NUA_DATA_DIR/note.txt"'`); !strings.Contains(out, "kept-file") {
			t.Fatalf("the data dir's file did not come back:\n%s", out)
		}
		if out := mustSSHIn(t, s, strings.NewReader("GET kept\n"), "redis:cli", "pgapp"); !strings.Contains(out, "redis-value") {
			t.Fatalf("the Redis key did not come back:\n%s", out)
		}
	}

	t.Run("restore from the local copy", func(t *testing.T) {
		destroy(t)
		out := mustSSH(t, s, "backups:restore", "pgapp", id)
		if !strings.Contains(out, "Restored pgapp from backup "+id) {
			t.Fatalf("backups:restore:\n%s", out)
		}
		restored(t)
	})

	t.Run("restore from MinIO", func(t *testing.T) {
		destroy(t)
		if err := os.Rename(local, local+".away"); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(local+".away", local)
		mustSSH(t, s, "backups:restore", "pgapp", id)
		restored(t)
	})

	t.Run("restore into a new app", func(t *testing.T) {
		out := mustSSH(t, s, "backups:restore", "pgapp", id, "--to", "pgcopy")
		if !strings.Contains(out, "Restored backup "+id+" of pgapp as pgcopy") {
			t.Fatalf("backups:restore --to:\n%s", out)
		}
		wantBody(t, s, "pgcopy", "/items", "alpha\nbeta")
		if out := mustSSH(t, s, "run", "pgcopy", "sh", "-c", `'cat "$NUA_DATA_DIR/note.txt"'`); !strings.Contains(out, "kept-file") {
			t.Fatalf("the new app lacks the data dir's file:\n%s", out)
		}
		if out := mustSSHIn(t, s, strings.NewReader("GET kept\n"), "redis:cli", "pgcopy"); !strings.Contains(out, "redis-value") {
			t.Fatalf("the new app's Redis lacks the key:\n%s", out)
		}
		if out := mustSSH(t, s, "addons", "pgcopy"); !strings.Contains(out, "postgres") || strings.Contains(out, "pg-kept") {
			t.Fatalf("the new app must have an addon of its own:\n%s", out)
		}
		if status, _ := s.Post("pgcopy", "/items?v=copy-only"); status != 200 {
			t.Fatalf("POST to the copy = %d", status)
		}
		wantBody(t, s, "pgapp", "/items", "alpha\nbeta") // the source is untouched
		if out, code := s.SSH(nil, "backups:restore", "pgapp", id, "--to", "pgcopy"); code == 0 || !strings.Contains(out, "exists") {
			t.Fatalf("a restore into an existing app: exit %d\n%s", code, out)
		}
	})

	t.Run("bad input changes nothing", func(t *testing.T) {
		b, err := os.ReadFile(local)
		if err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(local, b, 0o600)
		bad := append([]byte(nil), b...)
		bad[len(bad)/2] ^= 0xff
		if err := os.WriteFile(local, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		mustSSH(t, s, "run", "pgapp", "sh", "-c", `'echo changed > "$NUA_DATA_DIR/note.txt"'`)
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"backups:restore", "pgapp", id}, "corrupt"},
			{[]string{"backups:restore", "pgapp", "20990101T000000Z"}, "not found"},
			{[]string{"backups:restore", "pgapp", "../../x"}, "backup id"},
			{[]string{"backups:targets:add", "x", "http://bucket", "--endpoint", m.Endpoint, "--access-key", "k"}, "s3://BUCKET"},
			{[]string{"backups:targets:add", "Bad_Name", "s3://nua-backups", "--endpoint", m.Endpoint, "--access-key", "k"}, "target name"},
			{[]string{"backups:targets:add", "nobucket", "s3://no-such-bucket", "--endpoint", m.Endpoint, "--access-key", m.User}, "no such bucket"},
		} {
			out, code := s.SSH(strings.NewReader(m.Password+"\n"), tt.args...)
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Errorf("%v: exit %d, want a refusal saying %q:\n%s", tt.args, code, tt.want, out)
			}
		}
		wantBody(t, s, "pgapp", "/items", "alpha\nbeta")
		if out := mustSSH(t, s, "run", "pgapp", "sh", "-c", `'cat "$NUA_DATA_DIR/note.txt"'`); !strings.Contains(out, "changed") {
			t.Fatalf("a refused restore changed the data dir:\n%s", out)
		}
	})

	t.Run("a failing target fails the backup loudly", func(t *testing.T) {
		mustSSHIn(t, s, strings.NewReader("not-the-secret\n"), "backups:targets:add", "wrongkey", "s3://nua-backups/wrong",
			"--endpoint", m.Endpoint, "--access-key", m.User, "--no-check")
		out, code := s.SSH(nil, "backups:capture", "pgapp")
		if code == 0 || !strings.Contains(out, "wrongkey: FAILED") || !strings.Contains(out, "local: ok") {
			t.Fatalf("backups:capture to a bucket that refuses the keys: exit %d\n%s", code, out)
		}
		failed := backupIDRE.FindString(out)
		if _, err := os.Stat(filepath.Join(s.Data, "backups", "pgapp", failed+".nua")); err != nil {
			t.Errorf("the local copy of the failed backup: %v", err)
		}
		if out := mustSSH(t, s, "backups", "pgapp"); !strings.Contains(out, failed) || !strings.Contains(out, "FAILED") {
			t.Errorf("backups pgapp does not show the failure:\n%s", out)
		}
		if out := mustSSH(t, s, "apps:info", "pgapp"); !strings.Contains(out, "last backup FAILED") || !strings.Contains(out, "wrongkey") {
			t.Errorf("apps:info does not show the failure:\n%s", out)
		}
		testutil.Eventually(t, 10*time.Second, "the failure in the app's logs", func() (bool, string) {
			out, _ := s.SSH(nil, "logs", "pgapp")
			return strings.Contains(out, "backup "+failed+" FAILED"), out
		})
		mustSSH(t, s, "backups:targets:remove", "wrongkey")
		mustSSH(t, s, "backups:delete", "pgapp", failed)
		if _, err := os.Stat(filepath.Join(s.Data, "backups", "pgapp", failed+".nua")); err == nil {
			t.Errorf("backups:delete left the local copy")
		}
	})

	t.Run("verify drills a restore", func(t *testing.T) {
		out := mustSSH(t, s, "backups:verify", "pgapp", id)
		if !strings.Contains(out, "restores and boots") {
			t.Fatalf("backups:verify:\n%s", out)
		}
		if out := mustSSH(t, s, "apps"); strings.Contains(out, "drill-") {
			t.Fatalf("the drill's scratch app is left:\n%s", out)
		}
		if out := mustSSH(t, s, "backups", "pgapp"); !strings.Contains(out, "verified just now") {
			t.Fatalf("backups does not show the drill:\n%s", out)
		}
	})

	t.Run("a schedule captures, prunes and drills on its own", func(t *testing.T) {
		mustSSH(t, s, "backups:schedule", "pgapp", "'@every 2s'", "--keep-daily", "1", "--verify", "daily")
		if out := mustSSH(t, s, "backups", "pgapp"); !strings.Contains(out, `Scheduled "@every 2s", keeping 1 daily`) {
			t.Fatalf("backups does not show the schedule:\n%s", out)
		}
		for _, bad := range [][]string{{"'not a schedule'"}, {"@daily", "--verify", "hourly"}, {"@daily", "--keep-daily", "-1"}} {
			if out, code := s.SSH(nil, append([]string{"backups:schedule", "pgapp"}, bad...)...); code == 0 {
				t.Errorf("backups:schedule %v worked:\n%s", bad, out)
			}
		}
		var scheduled string
		testutil.Eventually(t, 3*time.Minute, "a scheduled backup, drilled, the older ones pruned", func() (bool, string) {
			out, _ := s.SSH(nil, "backups", "pgapp")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			scheduled = backupIDRE.FindString(lines[len(lines)-1])
			last := lines[len(lines)-1]
			return !strings.Contains(out, id) && strings.Contains(last, "verified just now") && !strings.Contains(out, "FAILED"), out
		})
		mustSSH(t, s, "backups:unschedule", "pgapp")
		testutil.Eventually(t, 2*time.Minute, "the last drill's scratch app gone", func() (bool, string) {
			left, _ := filepath.Glob(filepath.Join(s.Data, "repos", "drill-*"))
			return len(left) == 0, fmt.Sprint(left)
		})
		if _, err := os.Stat(local); err == nil {
			t.Errorf("the pruned backup %s is still in the local dir", id)
		}
		if scheduled == "" {
			t.Fatal("no scheduled backup listed")
		}
	})

	// A short name: the new server's data dir is under the subtest's temp
	// dir, and PostgreSQL's socket path must fit in 107 bytes.
	t.Run("server", func(t *testing.T) { // a server backup brings every app back on a fresh data dir
		// The new server gets the test's key under the same name: the old
		// one is removed before the state is backed up.
		if out, code := s.CLI(nil, "keys:remove", "admin", "tester"); code != 0 {
			t.Fatalf("keys:remove: %s", out)
		}
		out, code := s.CLI(nil, "server:backup")
		if code != 0 || !strings.Contains(out, "Server backup") {
			t.Fatalf("server:backup: exit %d\n%s", code, out)
		}
		sid := backupIDRE.FindString(out[strings.Index(out, "Server backup"):])
		archive, code := s.CLI(nil, "backups:download", "nua", sid)
		if code != 0 {
			t.Fatalf("backups:download nua %s: exit %d", sid, code)
		}
		dir := t.TempDir()
		file, key := filepath.Join(dir, "server.nua"), filepath.Join(dir, "key.txt")
		if err := os.WriteFile(file, []byte(archive), 0o600); err != nil {
			t.Fatal(err)
		}
		kb, err := os.ReadFile(filepath.Join(s.Data, "backup", "key.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(key, kb, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, code := s.CLI(nil, "backups:download", "nua", sid); code != 0 || out != archive {
			t.Fatalf("the archive changed between downloads (exit %d)", code)
		}
		s2 := testutil.StartServerData(t, func(data string) {
			other, err := age.GenerateX25519Identity()
			if err != nil {
				t.Fatal(err)
			}
			wrong := filepath.Join(dir, "wrong.txt")
			if err := os.WriteFile(wrong, []byte(other.String()+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, code := s.Exec(nil, "--data", data, "server:restore", file, "--key", wrong); code == 0 || !strings.Contains(out, "cannot open") {
				t.Fatalf("server:restore with another key: exit %d\n%s", code, out)
			}
			if _, err := os.Stat(filepath.Join(data, "nua.db")); err == nil {
				t.Fatal("a refused server:restore left a nua.db")
			}
			if out, code := s.Exec(nil, "--data", data, "server:restore", file, "--key", key); code != 0 {
				t.Fatalf("server:restore: exit %d\n%s", code, out)
			}
		})
		t.Cleanup(func() { s2.Stop(); reapServices(t, s2.Data) })
		defer func() {
			if t.Failed() {
				for _, l := range strings.Split(s2.Log(), "\n") {
					if strings.Contains(l, "restor") || strings.Contains(l, "ERROR") {
						t.Log(l)
					}
				}
			}
		}()
		testutil.Eventually(t, 90*time.Second, "both apps serve their rows on the new server", func() (bool, string) {
			st1, b1 := s2.Get("pgapp", "/items")
			st2, b2 := s2.Get("pgcopy", "/items")
			return st1 == 200 && b1 == "alpha\nbeta" && st2 == 200 && b2 == "alpha\nbeta\ncopy-only", fmt.Sprintf("%d %q / %d %q", st1, b1, st2, b2)
		})
		if out := mustSSH(t, s2, "run", "pgcopy", "sh", "-c", `'cat "$NUA_DATA_DIR/note.txt"'`); !strings.Contains(out, "kept-file") {
			t.Fatalf("the data dir's file did not come back on the new server:\n%s", out)
		}
		if out := mustSSHIn(t, s2, strings.NewReader("GET kept\n"), "redis:cli", "pgapp"); !strings.Contains(out, "redis-value") {
			t.Fatalf("the Redis key did not come back on the new server:\n%s", out)
		}
	})
}

// mustSSHIn is mustSSH with stdin.
func mustSSHIn(t *testing.T, s *testutil.Server, stdin *strings.Reader, args ...string) string {
	t.Helper()
	out, code := s.SSH(stdin, args...)
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return strings.TrimSpace(out)
}
