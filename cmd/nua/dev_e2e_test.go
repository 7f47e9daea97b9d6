package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2EDev runs `nua dev` on the testdata/dev app and on small Procfiles,
// with real processes, signals and a terminal.
func TestE2EDev(t *testing.T) {
	bin := devBinary(t)
	t.Run("formation ports env and prefixes", func(t *testing.T) {
		t.Parallel()
		dir, base := devApp(t), freeBase(t)
		// DIR before the flags: the command line is reordered.
		d := startDev(t, bin, []string{"GREETING=from the shell", "FROM_SHELL=yes"},
			"dev", dir, "-m", "web=2,worker=1", "-p", itoa(base))
		d.waitOut(fmt.Sprintf("worker PORT=%d PS=worker.1 GREETING=hello dev", base+100))
		for path, want := range map[string]string{
			"http://127.0.0.1:" + itoa(base) + "/":               "hello from procfile hello dev",
			"http://127.0.0.1:" + itoa(base) + "/env/PS":         "web.1",
			"http://127.0.0.1:" + itoa(base) + "/env/PORT":       itoa(base),
			"http://127.0.0.1:" + itoa(base) + "/env/QUOTED":     "single # quoted",
			"http://127.0.0.1:" + itoa(base) + "/env/FROM_SHELL": "yes",
			"http://127.0.0.1:" + itoa(base+1) + "/env/PS":       "web.2",
			"http://127.0.0.1:" + itoa(base+1) + "/env/PORT":     itoa(base + 1),
		} {
			waitGet(t, path, want)
		}
		d.waitOut("worker tick 2")
		pgids := d.pgids(3)
		d.signal(syscall.SIGINT)
		if code := d.wait(8 * time.Second); code != 0 {
			t.Fatalf("nua dev after SIGINT: exit %d\n%s", code, d.out.String())
		}
		allGone(t, pgids)
		out := d.out.String()
		checkPrefixes(t, out, `web\.1|web\.2|worker\.1|system`)
		for _, want := range []string{"web.1    | procfile web listening on :" + itoa(base), "web.2    | procfile web shutting down",
			"system   | stopping all processes"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "release-ran")); err == nil || strings.Contains(out, "release.1") {
			t.Fatalf("release ran under nua dev:\n%s", out)
		}
	})

	t.Run("defaults with PORT from an env file and SIGTERM", func(t *testing.T) {
		t.Parallel()
		dir, base := devApp(t), freeBase(t)
		writeFile(t, dir, "custom.env", "PORT="+itoa(base)+"\nGREETING=custom\n")
		d := startDev(t, bin, nil, "dev", "-e", filepath.Join(dir, ".env")+","+filepath.Join(dir, "custom.env"), dir)
		d.waitOut(fmt.Sprintf("worker PORT=%d PS=worker.1 GREETING=custom", base+100))
		waitGet(t, "http://127.0.0.1:"+itoa(base)+"/env/QUOTED", "single # quoted")
		pgids := d.pgids(2)
		d.signal(syscall.SIGTERM)
		if code := d.wait(8 * time.Second); code != 0 {
			t.Fatalf("nua dev after SIGTERM: exit %d\n%s", code, d.out.String())
		}
		allGone(t, pgids)
	})

	for _, tt := range []struct {
		name, command, wantErr string
		wantCode               int
	}{
		{name: "a failing process stops all", command: "echo bye; exit 3", wantCode: 1, wantErr: " !     oneshot.1 exited: exit status 3"},
		{name: "a finished process stops all", command: "echo bye", wantCode: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, base := devApp(t), freeBase(t)
			// -f names the Procfile; the app's directory is the Procfile's.
			writeFile(t, dir, "Procfile.once", "web: exec perl server.pl\noneshot: "+tt.command+"\n")
			d := startDev(t, bin, nil, "dev", "-p", itoa(base), "-f", filepath.Join(dir, "Procfile.once"))
			code := d.wait(8 * time.Second)
			out := d.out.String()
			if code != tt.wantCode || !strings.Contains(out, tt.wantErr) ||
				!strings.Contains(out, "oneshot.1 | bye") || !strings.Contains(out, "oneshot.1 exited, stopping all processes") {
				t.Fatalf("exit %d, want %d with %q and the exit told:\n%s", code, tt.wantCode, tt.wantErr, out)
			}
			allGone(t, d.pgids(2))
		})
	}

	t.Run("restart", func(t *testing.T) {
		t.Parallel()
		dir := devApp(t)
		writeFile(t, dir, "Procfile", "flaky: echo boot; exit 3\n")
		d := startDev(t, bin, nil, "dev", "--restart", "-p", itoa(freeBase(t)), dir)
		d.waitOut("flaky.1: Restarting in 1s")
		testutil.Eventually(t, 10*time.Second, "a second boot", func() (bool, string) {
			return strings.Count(d.out.String(), "flaky.1 | boot") >= 2, d.out.String()
		})
		if d.exited() {
			t.Fatalf("nua dev --restart exited:\n%s", d.out.String())
		}
		d.signal(syscall.SIGINT)
		if code := d.wait(8 * time.Second); code != 0 {
			t.Fatalf("nua dev --restart after SIGINT: exit %d\n%s", code, d.out.String())
		}
	})

	t.Run("SIGKILL after the timeout", func(t *testing.T) {
		t.Parallel()
		dir := devApp(t)
		writeFile(t, dir, "Procfile", "stubborn: trap '' TERM; echo ready; while :; do sleep 1; done\n")
		d := startDev(t, bin, nil, "dev", "--timeout", "1", dir)
		d.waitOut("stubborn.1 | ready")
		pgids := d.pgids(1)
		start := time.Now()
		d.signal(syscall.SIGINT)
		code := d.wait(8 * time.Second)
		if took := time.Since(start); code != 0 || took < time.Second || took > 5*time.Second {
			t.Fatalf("exit %d after %s, want 0 after about the 1s timeout:\n%s", code, took, d.out.String())
		}
		allGone(t, pgids)
		if !strings.Contains(d.out.String(), "Stop timeout of 1s exceeded, sending SIGKILL") {
			t.Fatalf("no SIGKILL told:\n%s", d.out.String())
		}
	})

	t.Run("second interrupt kills at once", func(t *testing.T) {
		t.Parallel()
		dir := devApp(t)
		writeFile(t, dir, "Procfile", "stubborn: trap '' TERM; echo ready; while :; do sleep 1; done\n")
		d := startDev(t, bin, nil, "dev", "--timeout", "1h", dir)
		d.waitOut("stubborn.1 | ready")
		pgids := d.pgids(1)
		d.signal(syscall.SIGINT)
		d.waitOut("stubborn.1: Stopping process with SIGTERM")
		d.signal(syscall.SIGINT)
		if code := d.wait(5 * time.Second); code != 0 {
			t.Fatalf("exit %d after a second SIGINT:\n%s", code, d.out.String())
		}
		allGone(t, pgids)
	})

	t.Run("Ctrl-C in a terminal", func(t *testing.T) {
		t.Parallel()
		dir, base := devApp(t), freeBase(t)
		d := startDevPTY(t, bin, "dev", "-p", itoa(base), dir)
		d.waitOut("procfile web listening on :" + itoa(base))
		d.waitOut("worker tick 1")
		pgids := d.pgids(2)
		if _, err := d.tty.Write([]byte{3}); err != nil { // ^C
			t.Fatal(err)
		}
		if code := d.wait(8 * time.Second); code != 0 {
			t.Fatalf("nua dev after ^C: exit %d\n%s", code, d.out.String())
		}
		allGone(t, pgids)
		// A terminal gets coloured prefixes: web.1 cyan, worker.1 yellow.
		out := d.out.String()
		for _, want := range []string{"\x1b[36m", " web.1    |\x1b[0m procfile web listening", "\x1b[33m", "\x1b[1m"} {
			if !strings.Contains(out, want) {
				t.Fatalf("terminal output lacks %q:\n%q", want, out)
			}
		}
	})

	t.Run("bad input starts nothing", func(t *testing.T) {
		t.Parallel()
		procfile := "release: touch started\nmarker: touch started; exec sleep 100\n"
		tests := []struct {
			name    string
			files   map[string]string
			args    []string
			wantErr string
		}{
			{name: "count not a number", args: []string{"-m", "marker=x"}, wantErr: `-m "marker=x": marker=x: the count must be a whole number`},
			{name: "negative count", args: []string{"-m", "marker=-1"}, wantErr: "the count must not be negative"},
			{name: "not pairs", args: []string{"-m", "marker"}, wantErr: `"marker" is not TYPE=N`},
			{name: "unknown type", args: []string{"-m", "web=1"}, wantErr: "-m web: no such process type in the Procfile (it has marker)"},
			{name: "release", args: []string{"-m", "release=1"}, wantErr: "release runs on deploys only"},
			{name: "bad env key", files: map[string]string{".env": "OK=1\n1BAD=x\n"}, wantErr: `.env line 2: "1BAD" is not a variable name`},
			{name: "bad env line", files: map[string]string{".env": "OK=1\nexport\n"}, wantErr: ".env line 2: not KEY=value"},
			{name: "unterminated quote", files: map[string]string{".env": "A=\"open\n"}, wantErr: ".env line 1: unterminated quoted value"},
			{name: "missing env file", args: []string{"-e", "nope.env"}, wantErr: "env file nope.env does not exist"},
			{name: "bad Procfile", files: map[string]string{"Procfile": "no colon here\n"}, wantErr: "invalid Procfile: Procfile line 1: missing ':'"},
			{name: "bad port", args: []string{"-p", "70000"}, wantErr: "-p 70000: give a port between 1 and 65535"},
			{name: "bad PORT in env", files: map[string]string{".env": "PORT=web\n"}, wantErr: `PORT="web" in the env files is not a port`},
			{name: "bad timeout", args: []string{"-t", "soon"}, wantErr: `--timeout "soon"`},
			{name: "two dirs", args: []string{"a", "b"}, wantErr: "usage: nua dev"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				writeFile(t, dir, "Procfile", procfile)
				for name, content := range tt.files {
					writeFile(t, dir, name, content)
				}
				d := startDevIn(t, bin, dir, nil, append([]string{"dev"}, tt.args...)...)
				code := d.wait(5 * time.Second)
				out := d.out.String()
				if code != 2 || !strings.HasPrefix(out, " !     ") || !strings.Contains(out, tt.wantErr) {
					t.Fatalf("exit %d, want 2 with %q:\n%s", code, tt.wantErr, out)
				}
				if _, err := os.Stat(filepath.Join(dir, "started")); err == nil || strings.Contains(out, "Starting process") {
					t.Fatalf("a process started:\n%s", out)
				}
			})
		}
	})
}
