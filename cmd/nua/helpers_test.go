package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nua-paas/nua/internal/testutil"
)

// editGreeting changes the goapp's default greeting and commits it.
func editGreeting(t *testing.T, repo, greeting string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repo, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(string(src), `greeting = "world"`, `greeting = "`+greeting+`"`, 1)
	if out == string(src) {
		out = strings.Replace(string(src), `"world"`, `"`+greeting+`"`, 1)
	}
	for _, old := range []string{"incremental", "forced", "racer-a", "racer-b"} {
		out = strings.Replace(out, `greeting = "`+old+`"`, `greeting = "`+greeting+`"`, 1)
	}
	testutil.Commit(t, repo, "main.go", out)
}

// lsRemote returns the commit main points at on the server.
func lsRemote(t *testing.T, s *testutil.Server, repo, app string) string {
	t.Helper()
	out, code := s.Git(repo, "ls-remote", s.Remote(app), "refs/heads/main")
	if code != 0 {
		t.Fatalf("ls-remote: exit %d\n%s", code, out)
	}
	f := strings.Fields(out)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func sshCmd(s *testutil.Server, args ...string) *exec.Cmd {
	var flags []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		flags, args = append(flags, args[0]), args[1:]
	}
	argv := []string{"-F", "/dev/null", "-i", s.Key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-p", strconv.Itoa(s.SSHPort), "nua@127.0.0.1"}
	argv = append(flags, argv...)
	return exec.Command("ssh", append(argv, args...)...)
}

func itoa(n int) string { return strconv.Itoa(n) }

// plusOne is the decimal n+1.
func plusOne(t *testing.T, n string) string {
	t.Helper()
	i, err := strconv.Atoi(n)
	if err != nil {
		t.Fatalf("%q is not a count", n)
	}
	return itoa(i + 1)
}

// psField returns field i of the `ps` output line of process name.
func psField(t *testing.T, ps, name string, i int) string {
	t.Helper()
	for _, line := range strings.Split(ps, "\n") {
		if f := strings.Fields(line); len(f) > i && f[0] == name {
			return f[i]
		}
	}
	t.Fatalf("no %s in ps output:\n%s", name, ps)
	return ""
}
