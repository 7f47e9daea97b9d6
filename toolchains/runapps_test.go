package toolchains_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// pythonSeeds is shared by the tests' builds, as the server shares it
// between apps: the seed virtualenv is made once on a machine.
var pythonSeeds string

func TestMain(m *testing.M) {
	dir, err := testutil.PythonSeeds()
	if err != nil {
		fmt.Fprintln(os.Stderr, "python seeds:", err)
		os.Exit(1)
	}
	pythonSeeds = dir
	// nua-cnb, which CNB builds run, is built beside nua (make test).
	if bin := os.Getenv("NUA_BIN"); bin != "" {
		os.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	os.Exit(m.Run())
}

// runNodeApp runs the built Node.js sample as procman would: its web
// process answers with config from the environment, the build script's
// output and its npm dependency.
func runNodeApp(t *testing.T, slug string, procs map[string]string) {
	port := freePort(t)
	web := startApp(t, slug, procs["web"], "PORT="+port, "GREETING=tests")
	base := "http://127.0.0.1:" + port
	if got, want := mustGet(t, base+"/"), "hello from nodeapp tests\n"; got != want {
		t.Fatalf("GET / = %q, want %q", got, want)
	}
	if got, want := mustGet(t, base+"/built"), "built by npm run build; a day is 86400000 ms\n"; got != want {
		t.Fatalf("GET /built = %q, want %q", got, want)
	}
	if got := mustGet(t, base+"/uptime"); !strings.HasSuffix(got, "ms\n") && !strings.HasSuffix(got, "s\n") {
		t.Fatalf("GET /uptime = %q, want a duration formatted by ms", got)
	}
	stopApp(t, web)
}

// runProvided returns the check of a sample built with a runtime or a
// package manager nua provides: npm start runs on the node the slug's bin
// links to, whose version starts with node, and the build script ran under
// the package manager agent names.
func runProvided(app, node, agent string) func(t *testing.T, slug string, procs map[string]string) {
	return func(t *testing.T, slug string, procs map[string]string) {
		port := freePort(t)
		web := startApp(t, slug, procs["web"], "PORT="+port)
		base := "http://127.0.0.1:" + port
		if got, want := mustGet(t, base+"/"), "hello from "+app+" on node "+node; !strings.HasPrefix(got, want) {
			t.Fatalf("GET / = %q, want it to start with %q", got, want)
		}
		if got, want := mustGet(t, base+"/built"), "built on node "+node; !strings.HasPrefix(got, want) || !strings.Contains(got, " by "+agent) {
			t.Fatalf("GET /built = %q, want %q... by %s", got, want, agent)
		}
		stopApp(t, web)
	}
}

// runPyApp runs the built Python sample as procman would: python on PATH
// is the virtualenv's, wherever the slug is.
func runPyApp(t *testing.T, slug string, procs map[string]string) {
	port := freePort(t)
	web := startApp(t, slug, procs["web"], "PORT="+port, "GREETING=tests")
	base := "http://127.0.0.1:" + port
	if got, want := mustGet(t, base+"/"), "hello from pyapp tests\n"; got != want {
		t.Fatalf("GET / = %q, want %q", got, want)
	}
	real, err := filepath.EvalSymlinks(slug)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mustGet(t, base+"/prefix"), filepath.Join(real, ".venv"); got != want {
		t.Fatalf("GET /prefix = %q, want the slug's virtualenv %q", got, want)
	}
	stopApp(t, web)
	out, err := appCommand(t, slug, "pip --version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), filepath.Join(real, ".venv")) {
		t.Fatalf("pip --version in the moved slug: %v\n%s", err, out)
	}
}

// appCommand returns command as procman runs it: /bin/sh -c in the slug,
// with the slug's bin first on PATH and HOME in the slug, in its own
// process group.
func appCommand(t *testing.T, slug, command string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = slug
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(slug, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+slug)
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// startApp starts command like procman; its process group is killed when
// the test ends.
func startApp(t *testing.T, slug, command string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := appCommand(t, slug, command, env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %q: %v", command, err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return cmd
}

// stopApp sends SIGTERM to the app's process group, as procman does, and
// waits until its process ends.
func stopApp(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%q still runs 15s after SIGTERM", cmd.Args)
	}
}
