// Package testutil drives a real nua server for end-to-end tests and
// benchmarks: the nua binary as a process, a real Traefik, and pushes with
// the real git and ssh clients.
package testutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binaries locates nua and Traefik for an end-to-end test: NUA_BIN and
// NUA_TRAEFIK, which `make test` sets. Without them the test is skipped,
// unless NUA_E2E=require, when it fails.
func Binaries(tb testing.TB) (nua, traefik string) {
	tb.Helper()
	nua, traefik = os.Getenv("NUA_BIN"), os.Getenv("NUA_TRAEFIK")
	for _, p := range []string{nua, traefik} {
		if _, err := os.Stat(p); p == "" || err != nil {
			msg := "end-to-end test needs the nua and Traefik binaries: run `make test` (or make build traefik and set NUA_BIN, NUA_TRAEFIK)"
			if os.Getenv("NUA_E2E") == "require" {
				tb.Fatal(msg)
			}
			tb.Skip(msg)
		}
	}
	for _, tool := range []string{"git", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Fatalf("%s not found: run `make deps`", tool)
		}
	}
	return nua, traefik
}

// Server is a nua server process with a client key registered.
type Server struct {
	tb       testing.TB
	Bin      string
	Traefik  string
	Data     string
	SSHPort  int
	HTTPPort int
	Home     string // HOME of the git and ssh clients
	Key      string // the client's private key
	LogFile  string
	Env      []string // added to the server's environment
	extra    []string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// StartServer starts a nua server on free loopback ports, with extra
// server flags, and registers a client key through the admin socket.
func StartServer(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	return StartServerEnv(tb, nil, extra...)
}

// StartServerEnv is StartServer with env added to the server's
// environment.
func StartServerEnv(tb testing.TB, env []string, extra ...string) *Server {
	tb.Helper()
	return startServer(tb, env, nil, extra)
}

// StartServerData is StartServer on a data directory that prepare fills
// first, e.g. with a nua.db an older nua wrote.
func StartServerData(tb testing.TB, prepare func(data string), extra ...string) *Server {
	tb.Helper()
	return startServer(tb, nil, prepare, extra)
}

func startServer(tb testing.TB, env []string, prepare func(data string), extra []string) *Server {
	tb.Helper()
	nua, traefik := Binaries(tb)
	dir := tb.TempDir()
	// As root the server sandboxes apps, whose users must pass through
	// the data dir's parents (t.TempDir makes them 0700).
	for d := dir; d != filepath.Clean(os.TempDir()) && d != "/"; d = filepath.Dir(d) {
		must(tb, os.Chmod(d, 0o711))
	}
	s := &Server{
		tb: tb, Bin: nua, Traefik: traefik,
		Data: filepath.Join(dir, "data"), Home: filepath.Join(dir, "home"),
		SSHPort: FreePort(tb), HTTPPort: FreePort(tb), LogFile: filepath.Join(dir, "server.log"),
		Env: env, extra: extra,
	}
	must(tb, os.MkdirAll(filepath.Join(s.Home, ".ssh"), 0o700))
	s.Key = s.NewKey("id_ed25519")
	if prepare != nil {
		must(tb, os.MkdirAll(s.Data, 0o700))
		prepare(s.Data)
	}
	// Another test may bind a port between its pick and the server's
	// bind: that one failure is retried with fresh ports.
	for attempt := 1; ; attempt++ {
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			tb.Fatal(err)
		}
		s.SSHPort, s.HTTPPort = FreePort(tb), FreePort(tb)
	}
	tb.Cleanup(s.Stop)
	s.AddKey("admin", "tester", s.Key)
	return s
}

// Start starts the server process and waits until it is ready.
func (s *Server) Start() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

// start starts the server process and waits until it is ready; the error
// carries the server's log when it exits first.
func (s *Server) start() error {
	s.tb.Helper()
	logf, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	must(s.tb, err)
	fi, err := logf.Stat()
	must(s.tb, err)
	from := int(fi.Size()) // a restarted server appends to the same log
	s.cmd = exec.Command(s.Bin, "server", "--data", s.Data,
		"--ssh-addr", fmt.Sprintf("127.0.0.1:%d", s.SSHPort),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", s.HTTPPort),
		"--domain", "localhost", "--traefik", s.Traefik)
	s.cmd.Args = append(s.cmd.Args, s.extra...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Share the machine's Go build cache, as an operator would, so each
	// test server does not compile the standard library again.
	s.cmd.Env = append(append(os.Environ(), "GOCACHE="+goCache(s.tb)), s.Env...)
	must(s.tb, s.cmd.Start())
	logf.Close()
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	var exited error
	Eventually(s.tb, 60*time.Second, "server ready", func() (bool, string) {
		select {
		case <-s.exited:
			s.cmd = nil
			exited = fmt.Errorf("nua server exited:\n%s", s.Log()[from:])
			return true, ""
		default:
		}
		return strings.Contains(s.Log()[from:], "msg=ready"), ""
	})
	return exited
}

func goCache(tb testing.TB) string {
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		tb.Fatalf("go env GOCACHE: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// Stop sends SIGTERM and waits for the server to exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		s.tb.Errorf("nua server did not stop within 60s of SIGTERM")
	}
	s.cmd = nil
}

// Kill kills the server with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill() {
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Signal sends sig to the server process.
func (s *Server) Signal(sig os.Signal) {
	s.tb.Helper()
	must(s.tb, s.cmd.Process.Signal(sig))
}

// Exited waits up to d (0: not at all) for the server to exit and returns
// how it ended, or nil while it still runs.
func (s *Server) Exited(d time.Duration) *os.ProcessState {
	select {
	case <-s.exited:
	default:
		if d <= 0 {
			return nil
		}
		select {
		case <-s.exited:
		case <-time.After(d):
			return nil
		}
	}
	st := s.cmd.ProcessState
	s.cmd = nil
	return st
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Log returns what the server has logged so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogFile)
	return string(b)
}

// CLI runs `nua --data DATA args...` (the admin socket door) and returns
// its combined output and exit status.
func (s *Server) CLI(stdin io.Reader, args ...string) (string, int) {
	s.tb.Helper()
	return s.exec(stdin, s.Bin, append([]string{"--data", s.Data}, args...)...)
}

// SSH runs a command through the real ssh client and returns its combined
// output and exit status.
func (s *Server) SSH(stdin io.Reader, args ...string) (string, int) {
	s.tb.Helper()
	return s.SSHWithKey(s.Key, stdin, args...)
}

// SSHWithKey is SSH with another client key.
func (s *Server) SSHWithKey(key string, stdin io.Reader, args ...string) (string, int) {
	s.tb.Helper()
	argv := append(s.sshArgs(key), "-p", strconv.Itoa(s.SSHPort), "nua@127.0.0.1")
	return s.exec(stdin, "ssh", append(argv, args...)...)
}

func (s *Server) sshArgs(key string) []string {
	return []string{
		"-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=accept-new",
		"-o", "UserKnownHostsFile=" + filepath.Join(s.Home, ".ssh", "known_hosts"),
		"-o", "LogLevel=ERROR",
	}
}

// GitEnv is the environment for git commands that talk to the server.
func (s *Server) GitEnv() []string { return s.GitEnvKey(s.Key) }

// GitEnvKey is GitEnv with another client key.
func (s *Server) GitEnvKey(key string) []string {
	return append(os.Environ(),
		"HOME="+s.Home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_SSH_COMMAND=ssh "+strings.Join(s.sshArgs(key), " "),
		"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.org",
		"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.org",
	)
}

// Remote is the git URL of app.
func (s *Server) Remote(app string) string {
	return fmt.Sprintf("ssh://nua@127.0.0.1:%d/%s", s.SSHPort, app)
}

// Push runs `git push REMOTE args...` in repo and returns its combined
// output and exit status.
func (s *Server) Push(repo, app string, args ...string) (string, int) {
	s.tb.Helper()
	return s.Git(repo, append([]string{"push", s.Remote(app)}, args...)...)
}

// Git runs git in repo with the server's client environment.
func (s *Server) Git(repo string, args ...string) (string, int) {
	s.tb.Helper()
	return s.GitWithKey(s.Key, repo, args...)
}

// GitWithKey is Git with another client key.
func (s *Server) GitWithKey(key, repo string, args ...string) (string, int) {
	s.tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = repo, s.GitEnvKey(key)
	return combined(s.tb, cmd)
}

func (s *Server) exec(stdin io.Reader, name string, args ...string) (string, int) {
	s.tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), "HOME="+s.Home)
	return combined(s.tb, cmd)
}

func combined(tb testing.TB, cmd *exec.Cmd) (string, int) {
	tb.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		<-done
		tb.Fatalf("%s %v: no exit after 5 minutes:\n%s", cmd.Path, cmd.Args, out.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// Get requests path of app through Traefik and returns the status and body;
// status 0 means no connection.
func (s *Server) Get(app, path string) (int, string) { return s.request("GET", app, path) }

// Post is Get with the POST method.
func (s *Server) Post(app, path string) (int, string) { return s.request("POST", app, path) }

func (s *Server) request(method, app, path string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://127.0.0.1:%d%s", s.HTTPPort, path), nil)
	req.Host = app + ".localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// NewRepo copies a sample app from testdata/apps into a new git repository
// with one commit on main and returns its path.
func NewRepo(tb testing.TB, sample string) string {
	tb.Helper()
	dir := tb.TempDir()
	src := filepath.Join(RepoRoot(tb), "testdata", "apps", sample)
	Run(tb, "", nil, "cp", "-a", src+"/.", dir)
	env := append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
	Run(tb, dir, env, "git", "init", "-q", "-b", "main")
	Run(tb, dir, env, "git", "add", "-A")
	Run(tb, dir, env, "git", "commit", "-q", "-m", "sample "+sample)
	return dir
}

// Commit writes file in repo and commits it.
func Commit(tb testing.TB, repo, file, content string) {
	tb.Helper()
	must(tb, os.WriteFile(filepath.Join(repo, file), []byte(content), 0o644))
	env := append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+repo,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
	Run(tb, repo, env, "git", "add", "-A")
	Run(tb, repo, env, "git", "commit", "-q", "-m", "change "+file)
}

// Run runs a command that must succeed and returns its output.
func Run(tb testing.TB, dir string, env []string, name string, args ...string) string {
	tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// RepoRoot is the root of nua's source tree.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	must(tb, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Eventually polls cond every 20ms until it holds or the deadline passes;
// cond's message says what it saw last.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %s; last: %s", what, within, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort returns a loopback port that was free a moment ago. It is
// drawn below the kernel's ephemeral range when there is room, so no
// port the kernel hands out meanwhile (an app's, Traefik's API, a client
// connection's) can take it before the server binds it.
func FreePort(tb testing.TB) int {
	tb.Helper()
	if low := ephemeralLow(); low > 12000 {
		for range 50 {
			port := 10000 + rand.IntN(low-10000)
			if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				l.Close()
				return port
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(tb, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ephemeralLow is the first port of the kernel's ephemeral range, 0 when
// unknown.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// RSS returns the resident set size of pid in KiB.
func RSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// ChildPID returns the pid of a child of parent whose command line contains
// substr, or 0.
func ChildPID(parent int, substr string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
		f := strings.Fields(rest)
		if len(f) < 2 || f[1] != strconv.Itoa(parent) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmdline), substr) {
			return pid
		}
	}
	return 0
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// Exec runs the nua binary with args as given, no --data added.
func (s *Server) Exec(stdin io.Reader, args ...string) (string, int) {
	s.tb.Helper()
	return s.exec(stdin, s.Bin, args...)
}

// ExecEnv runs the nua binary with extra environment variables.
func (s *Server) ExecEnv(env []string, args ...string) (string, int) {
	s.tb.Helper()
	cmd := exec.Command(s.Bin, args...)
	cmd.Env = append(append(os.Environ(), "HOME="+s.Home), env...)
	return combined(s.tb, cmd)
}

// LockEngine holds the container engine at DOCKER_HOST for the rest of the
// test, across test processes: tests that build images or check that none
// is left over see only their own. It waits while another test holds it.
func LockEngine(tb testing.TB) {
	tb.Helper()
	dir := os.TempDir()
	if sock, ok := strings.CutPrefix(os.Getenv("DOCKER_HOST"), "unix://"); ok {
		dir = filepath.Dir(sock)
	}
	f, err := os.OpenFile(filepath.Join(dir, "nua-tests.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	must(tb, err)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		tb.Fatalf("lock the container engine: %v", err)
	}
	tb.Cleanup(func() { f.Close() }) // closing releases the lock
}
