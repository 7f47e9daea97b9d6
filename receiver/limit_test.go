package receiver_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nua-paas/nua/receiver"
)

// TestMain lets the test binary play the server's end of git's ssh
// connection (see servePush).
func TestMain(m *testing.M) {
	if repos := os.Getenv("NUA_TEST_RECEIVE_REPOS"); repos != "" {
		os.Exit(servePush(repos))
	}
	os.Exit(m.Run())
}

// servePush serves the push git asked its ssh program for through a
// Receiver, the way nua's SSH server does: its error, unless git's own,
// goes to the pusher's stderr.
func servePush(repos string) int {
	max, _ := strconv.ParseInt(os.Getenv("NUA_TEST_MAX_PUSH"), 10, 64)
	r := receiver.New(receiver.Config{ReposDir: repos, Hook: strings.Fields(os.Getenv("NUA_TEST_HOOK")), MaxPushSize: max})
	err := r.ReceivePack(context.Background(), "app", nil, receiver.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case !errors.As(err, &exit):
		fmt.Fprintf(os.Stderr, " !     %s\n", err)
	}
	return 1
}

// TestMaxPushSize pushes with the real git client, over a pipe like ssh's,
// a commit with an incompressible file: over the cap the push fails with
// the cap's message, the hook never runs and the branch is not created;
// under it the same receiver takes a small push.
func TestMaxPushSize(t *testing.T) {
	dir := t.TempDir()
	repos := filepath.Join(dir, "repos")
	mark := filepath.Join(dir, "hook-ran")
	hook := "/usr/bin/touch " + mark
	r := receiver.New(receiver.Config{ReposDir: repos, Hook: strings.Fields(hook)})
	if err := r.Init("app", "main"); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e",
			"GIT_SSH_COMMAND="+exe, "GIT_SSH_VARIANT=simple",
			"NUA_TEST_RECEIVE_REPOS="+repos, "NUA_TEST_MAX_PUSH="+strconv.Itoa(100<<10), "NUA_TEST_HOOK="+hook)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) {
		t.Helper()
		if out, err := git(args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	must("init", "-q", "-b", "main")
	big := make([]byte, 300<<10)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(work, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	must("add", "-A")
	must("commit", "-q", "-m", "big")
	out, err := git("push", "ssh://nua.example/app", "main")
	want := " !     push too large: the push sent more than 100K, this server's cap (nua server --max-push-size), and was refused; nothing was deployed"
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("push of 300 KiB under a 100 KiB cap: %v, want it refused with %q:\n%s", err, want, out)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("the hook ran for a push over the cap")
	}
	if refs, _ := exec.Command("git", "--git-dir", r.Repo("app"), "for-each-ref").Output(); len(refs) > 0 {
		t.Fatalf("a push over the cap left refs: %s", refs)
	}

	must("checkout", "-q", "--orphan", "small") // a history without big.bin
	must("rm", "-q", "--cached", "big.bin")
	if err := os.WriteFile(filepath.Join(work, "small.txt"), []byte("small\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	must("add", "small.txt")
	must("commit", "-q", "-m", "small")
	if out, err := git("push", "ssh://nua.example/app", "small:main"); err != nil {
		t.Fatalf("a small push under the cap: %v\n%s", err, out)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Fatalf("the hook did not run for a push under the cap: %v", err)
	}
}
