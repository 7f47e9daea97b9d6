package main_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
	"golang.org/x/sys/unix"
)

// devBinary returns NUA_BIN, or builds nua into a temp dir: `nua dev`
// needs no server, so its tests need no Traefik.
func devBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("NUA_BIN"); bin != "" {
		return bin
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(t.TempDir(), "nua")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/nua")
	cmd.Dir = testutil.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build nua: %v\n%s", err, out)
	}
	return bin
}

// devApp copies testdata/dev into a fresh directory.
func devApp(t *testing.T) string {
	t.Helper()
	src := filepath.Join(testutil.RepoRoot(t), "testdata", "dev")
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, e.Name(), string(b))
	}
	return dir
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freeBase returns a base port whose web.1, web.2 and worker.1 ports were
// free a moment ago.
func freeBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		base := testutil.FreePort(t)
		if base+100 > 65535 {
			continue
		}
		free := true
		for _, p := range []int{base + 1, base + 100} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free base port")
	return 0
}

// devProc is a running `nua dev`.
type devProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    testutil.Buffer // stdout and stderr
	tty    *os.File        // the terminal's master side (startDevPTY)
	done   chan struct{}   // closed once it exited and its output is read
	copied chan struct{}
	code   int
}

// startDev runs nua with args in a fresh directory, env added to the
// test's environment (less PORT and NO_COLOR).
func startDev(t *testing.T, bin string, env []string, args ...string) *devProc {
	t.Helper()
	return startDevIn(t, bin, t.TempDir(), env, args...)
}

func startDevIn(t *testing.T, bin, dir string, env []string, args ...string) *devProc {
	t.Helper()
	d := newDevProc(t, bin, dir, env, args)
	d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
	close(d.copied)
	d.start()
	return d
}

// startDevPTY runs nua with a terminal as its stdin, stdout and stderr and
// controlling terminal, as in an interactive shell.
func startDevPTY(t *testing.T, bin string, args ...string) *devProc {
	t.Helper()
	d := newDevProc(t, bin, t.TempDir(), nil, args)
	master, slave := openPTY(t)
	d.tty = master
	d.cmd.Stdin, d.cmd.Stdout, d.cmd.Stderr = slave, slave, slave
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	d.start()
	slave.Close()
	go func() {
		io.Copy(&d.out, master) // ends with EIO once nua has exited
		close(d.copied)
	}()
	t.Cleanup(func() { master.Close() })
	return d
}

func newDevProc(t *testing.T, bin, dir string, env, args []string) *devProc {
	d := &devProc{t: t, done: make(chan struct{}), copied: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORT=") && !strings.HasPrefix(kv, "NO_COLOR=") {
			d.cmd.Env = append(d.cmd.Env, kv)
		}
	}
	d.cmd.Env = append(d.cmd.Env, env...)
	return d
}

func (d *devProc) start() {
	d.t.Helper()
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		d.cmd.Wait()
		d.code = d.cmd.ProcessState.ExitCode()
		close(exited)
		<-d.copied
		close(d.done)
	}()
	d.t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-exited
	})
}

func (d *devProc) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// wait waits for nua to exit and returns its exit code.
func (d *devProc) wait(within time.Duration) int {
	d.t.Helper()
	select {
	case <-d.done:
		return d.code
	case <-time.After(within):
		d.t.Fatalf("nua dev still running after %s:\n%s", within, d.out.String())
		return 0
	}
}

func (d *devProc) signal(sig syscall.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
}

func (d *devProc) waitOut(want string) {
	d.t.Helper()
	testutil.Eventually(d.t, 10*time.Second, fmt.Sprintf("%q in nua dev's output", want), func() (bool, string) {
		return strings.Contains(d.out.String(), want), d.out.String()
	})
}

var pidRE = regexp.MustCompile(`Starting process with command .* \(pid (\d+)\)`)

// pgids waits until n processes started and returns their process groups.
func (d *devProc) pgids(n int) []int {
	d.t.Helper()
	var ids []int
	testutil.Eventually(d.t, 10*time.Second, fmt.Sprintf("%d processes started", n), func() (bool, string) {
		ids = ids[:0]
		for _, m := range pidRE.FindAllStringSubmatch(d.out.String(), -1) {
			id, _ := strconv.Atoi(m[1])
			ids = append(ids, id)
		}
		return len(ids) >= n, d.out.String()
	})
	return ids
}

// allGone waits until no live process is left in the groups.
func allGone(t *testing.T, pgids []int) {
	t.Helper()
	testutil.Eventually(t, 3*time.Second, "every process group gone", func() (bool, string) {
		left := groupMembers(pgids)
		return len(left) == 0, fmt.Sprintf("still running: %v", left)
	})
}

// groupMembers returns the live (not zombie) processes of the groups.
func groupMembers(pgids []int) []int {
	entries, _ := os.ReadDir("/proc")
	var live []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		i := strings.LastIndexByte(string(stat), ')')
		if err != nil || i < 0 {
			continue
		}
		// pid (comm) state ppid pgrp ...
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		for _, g := range pgids {
			if f[2] == strconv.Itoa(g) {
				live = append(live, pid)
			}
		}
	}
	return live
}

// checkPrefixes checks every line is "HH:MM:SS NAME | ", uncoloured, with
// the bars aligned.
func checkPrefixes(t *testing.T, out, names string) {
	t.Helper()
	re := regexp.MustCompile(`^\d\d:\d\d:\d\d (` + names + `) +\| `)
	bar := -1
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !re.MatchString(line) || strings.Contains(line, "\x1b") {
			t.Fatalf("line %q is not an uncoloured %s line:\n%s", line, re, out)
		}
		if i := strings.Index(line, " | "); bar < 0 {
			bar = i
		} else if i != bar {
			t.Fatalf("prefixes not aligned at line %q:\n%s", line, out)
		}
	}
}

// waitGet waits until url answers 200 with body want.
func waitGet(t *testing.T, url, want string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	testutil.Eventually(t, 10*time.Second, "GET "+url, func() (bool, string) {
		resp, err := client.Get(url)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.TrimSpace(string(b)) == want, fmt.Sprintf("%d %q", resp.StatusCode, b)
	})
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err == nil {
		err = unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0)
	}
	if err != nil {
		m.Close()
		t.Fatalf("set up pty: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("no /dev/pts here: %v", err)
		}
		t.Fatal(err)
	}
	return m, s
}
