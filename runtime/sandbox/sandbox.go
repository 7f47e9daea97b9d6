// Package sandbox is the one way an app's code starts. A Sandbox confines
// every process of one app — builds and their scripts, web and worker
// instances, the release phase, one-off runs — when nua runs as root: the
// app's own uid and gid (never root, never nua's), its own cgroup per job
// with memory, CPU and task limits, rlimits, no new privileges, and a PATH
// that keeps only the host directories an app user can reach.
//
// When nua does not run as root (a local try, `nua dev`) nothing can be
// confined: commands start as nua's own user in their own process group,
// and Manager.Status says so plainly.
//
// Confinement is applied by a helper: nua's own binary, run as
// `nua sandbox-exec ...` (see Exec). It joins the job's cgroups, sets the
// rlimits, drops to the app's uid and execs the command, so the pid the
// caller sees is the command's and no helper process stays behind.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// HelperCommand is the nua subcommand that applies a sandbox and execs the
// command (see Exec).
const HelperCommand = "sandbox-exec"

// DefaultUIDBase is the first uid given to apps: far above the ids of
// people (1000+) and of the subordinate ranges container engines use
// (100000–165535).
const DefaultUIDBase = 2_000_000

// Limits bound one job: one instance, one build, one one-off run.
type Limits struct {
	Memory int64   // bytes; 0 = no limit
	CPU    float64 // cores; 0 = no limit
	Tasks  int     // processes and threads; 0 = no limit
}

// Default limits.
var (
	// DefaultProcess are the limits of an app process: Heroku's
	// standard dyno (512 MB, one core, 256 tasks).
	DefaultProcess = Limits{Memory: 512 << 20, CPU: 1, Tasks: 256}
	// DefaultBuild are the limits of a build: compilers take more.
	DefaultBuild = Limits{Memory: 4 << 30, Tasks: 4096}
)

// String is the limits as resources:set takes them: "memory=512M cpu=1 tasks=256".
func (l Limits) String() string {
	var parts []string
	if l.Memory > 0 {
		parts = append(parts, "memory="+FormatBytes(l.Memory))
	} else {
		parts = append(parts, "memory=none")
	}
	if l.CPU > 0 {
		parts = append(parts, "cpu="+strconv.FormatFloat(l.CPU, 'f', -1, 64))
	} else {
		parts = append(parts, "cpu=none")
	}
	if l.Tasks > 0 {
		parts = append(parts, "tasks="+strconv.Itoa(l.Tasks))
	} else {
		parts = append(parts, "tasks=none")
	}
	return strings.Join(parts, " ")
}

// FormatBytes writes n as resources:set takes it: 512M, 2G, 1000K.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Config configures a Manager.
type Config struct {
	// Helper is the absolute path of the nua binary that applies sandboxes.
	Helper string
	// Disabled turns confinement off even as root (`--sandbox=off`).
	Disabled bool
	// UIDBase is the uid of app number 0; default DefaultUIDBase.
	UIDBase int
	// CgroupRoot is where cgroup hierarchies are mounted; default /sys/fs/cgroup.
	CgroupRoot string
	Logger     *slog.Logger
}

// Manager knows whether this host can confine apps, and how.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	enabled bool
	cg      cgroups // nil when cgroups are unavailable
	why     string  // why confinement or cgroups are off, for Status
	seq     atomic.Uint64
}

// New returns a Manager for cfg. It does no I/O: call Open.
func New(cfg Config) *Manager {
	if cfg.UIDBase == 0 {
		cfg.UIDBase = DefaultUIDBase
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = "/sys/fs/cgroup"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, log: cfg.Logger}
}

// Open decides whether apps are confined: as root, unless disabled. It
// prepares nua's cgroups when the host has them; without them apps still
// get their own uid, and limits are rlimits only.
func (m *Manager) Open() error {
	switch {
	case m.cfg.Disabled:
		m.why = "turned off by --sandbox=off"
		return nil
	case os.Geteuid() != 0:
		m.why = fmt.Sprintf("nua runs as uid %d, not root: apps run as nua's own user with no limits", os.Geteuid())
		return nil
	case !filepath.IsAbs(m.cfg.Helper):
		return fmt.Errorf("sandbox: helper %q is not an absolute path", m.cfg.Helper)
	}
	m.enabled = true
	cg, err := openCgroups(m.cfg.CgroupRoot)
	if err != nil {
		m.why = "no cgroups (" + err.Error() + "): limits are rlimits only"
		m.log.Warn("sandbox without cgroups", "err", err)
		return nil
	}
	m.cg = cg
	return nil
}

// Enabled reports whether apps are confined.
func (m *Manager) Enabled() bool { return m != nil && m.enabled }

// Status says in one line how apps are confined, for the startup log and
// `nua doctor`.
func (m *Manager) Status() string {
	switch {
	case !m.Enabled():
		return "apps are NOT sandboxed: " + m.why
	case m.cg == nil:
		return "apps run under their own uids; " + m.why
	}
	return "apps run under their own uids, limits through " + m.cg.kind()
}

// UID returns the uid of app number n (see App.UID in the root package).
func (m *Manager) UID(n int) int { return m.cfg.UIDBase + n }

// For returns the sandbox of app, which runs as uid (and gid uid). It is
// unconfined when the Manager is not Enabled.
func (m *Manager) For(app string, uid int) *Sandbox {
	return &Sandbox{m: m, app: app, uid: uid}
}

// Sandbox is one app's confinement. A nil *Sandbox, or one of a Manager
// that is not Enabled, confines nothing.
type Sandbox struct {
	m   *Manager
	app string
	uid int
}

// Confined reports whether s confines its processes.
func (s *Sandbox) Confined() bool { return s != nil && s.m.Enabled() }

// App is the app s confines.
func (s *Sandbox) App() string {
	if s == nil {
		return ""
	}
	return s.app
}

// UID is the uid s runs processes as, and -1 when s is not confined.
func (s *Sandbox) UID() int {
	if !s.Confined() {
		return -1
	}
	return s.uid
}

// Job is one command to start in a sandbox.
type Job struct {
	// Name names the job's cgroup: "web.1", "build", "release", "run.42".
	Name string
	// Argv is the command; Argv[0] is looked up on the PATH of Env.
	Argv []string
	// Dir is the working directory.
	Dir string
	// Env is the whole environment. In a confined sandbox PATH keeps only
	// the directories an app user can reach.
	Env []string
	// Limits bound the job (confined sandboxes only).
	Limits Limits
	// Session starts the job in a new session (for a terminal) instead of
	// a new process group.
	Session bool
}

var jobNameRE = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$`)

// Proc is a job's command, not yet started, and the cgroup it will run in.
type Proc struct {
	*exec.Cmd
	s  *Sandbox
	cg string // the job's cgroup leaf: its name and a unique suffix
}

// Command returns the command that runs j in s. It runs in its own process
// group (or session), dies with the daemon's thread that started it, and,
// when ctx ends, the whole job is killed: its group and, in a confined
// sandbox, everything left in its cgroup. The caller sets Stdin, Stdout
// and Stderr, starts it, and calls Release once it has ended.
func (s *Sandbox) Command(ctx context.Context, j Job) (*Proc, error) {
	if len(j.Argv) == 0 {
		return nil, errors.New("sandbox: empty command")
	}
	if !jobNameRE.MatchString(j.Name) {
		return nil, fmt.Errorf("sandbox: bad job name %q", j.Name)
	}
	attr := &syscall.SysProcAttr{Setpgid: !j.Session, Setsid: j.Session, Pdeathsig: syscall.SIGKILL}
	if !s.Confined() {
		cmd := exec.CommandContext(ctx, j.Argv[0], j.Argv[1:]...)
		cmd.Dir, cmd.Env, cmd.SysProcAttr = j.Dir, j.Env, attr
		cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
		return &Proc{Cmd: cmd, s: s}, nil
	}
	p := &Proc{s: s, cg: j.Name + "." + strconv.FormatUint(s.m.seq.Add(1), 36)}
	args := []string{HelperCommand, "--uid", strconv.Itoa(s.uid), "--gid", strconv.Itoa(s.uid)}
	if s.m.cg != nil {
		dirs, err := s.m.cg.create(s.app, p.cg, j.Limits)
		if err != nil {
			removeJob(s.m.cg, s.app, p.cg)
			return nil, fmt.Errorf("sandbox %s %s: %w", s.app, j.Name, err)
		}
		for _, d := range dirs {
			args = append(args, "--cgroup", d)
		}
	} else if j.Limits.Memory > 0 {
		args = append(args, "--memory", strconv.FormatInt(j.Limits.Memory, 10))
	}
	args = append(args, "--tasks", strconv.Itoa(j.Limits.Tasks), "--")
	args = append(args, j.Argv...)
	cmd := exec.CommandContext(ctx, s.m.cfg.Helper, args...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = j.Dir, s.m.appEnv(j.Env, s.uid), attr
	cmd.Cancel = func() error {
		err := killGroup(cmd.Process.Pid)
		p.Kill()
		return err
	}
	p.Cmd = cmd
	return p, nil
}

// killGroup SIGKILLs the process group led by pid.
func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Kill kills every process left in the job's cgroup, those that left its
// process group or session included. Without cgroups it does nothing.
func (p *Proc) Kill() {
	if p.cg == "" || p.s.m.cg == nil {
		return
	}
	if err := killJob(p.s.m.cg, p.s.app, p.cg); err != nil {
		p.s.m.log.Warn("kill job", "app", p.s.app, "job", p.cg, "err", err)
	}
}

// Release kills what is left of the job and removes its cgroup. Call it
// once the job's command has ended.
func (p *Proc) Release() {
	if p.cg == "" || p.s.m.cg == nil {
		return
	}
	if err := removeJob(p.s.m.cg, p.s.app, p.cg); err != nil {
		p.s.m.log.Warn("remove job cgroup", "app", p.s.app, "job", p.cg, "err", err)
	}
}

// Usage is what a job has used so far.
type Usage struct {
	Memory   int64         // bytes now in use
	CPU      time.Duration // CPU time since the job started
	OOMKills int           // times the kernel killed a process of the job for memory
}

// Usage reports the job's use of its limits; zero without cgroups.
func (p *Proc) Usage() Usage {
	if p.cg == "" || p.s.m.cg == nil {
		return Usage{}
	}
	return p.s.m.cg.usage(p.s.app, p.cg)
}

// RemoveApp kills whatever is left in the app's cgroups and removes them.
func (s *Sandbox) RemoveApp() {
	if !s.Confined() || s.m.cg == nil {
		return
	}
	for _, d := range s.m.cg.dirs(s.app, "") {
		clearApp(s.m.cg, s.app, d)
	}
}

// Own makes dir (created if missing, mode 0700) and, when the sandbox is
// confined, everything under it belong to the app. Only a tree whose top
// is not the app's yet is walked, so calling it again is cheap.
func (s *Sandbox) Own(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if !s.Confined() {
		return nil
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == s.uid && int(st.Gid) == s.uid {
		return os.Chmod(dir, 0o700)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, s.uid, s.uid)
	})
	if err != nil {
		return fmt.Errorf("give %s to app %s: %w", dir, s.app, err)
	}
	return os.Chmod(dir, 0o700)
}
