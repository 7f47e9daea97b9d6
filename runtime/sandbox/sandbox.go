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
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	// Cgroup names the cgroup, under the daemon's own, that holds the
	// apps' (default "nua"). Two daemons on one host (tests) need two.
	Cgroup string
	Logger *slog.Logger
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
	if cfg.Cgroup == "" {
		cfg.Cgroup = "nua"
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
	if !jobNameRE.MatchString(m.cfg.Cgroup) {
		return fmt.Errorf("sandbox: bad cgroup name %q", m.cfg.Cgroup)
	}
	cg, err := openCgroups(m.cfg.CgroupRoot, m.cfg.Cgroup)
	if err != nil {
		m.why = "no cgroups (" + err.Error() + "): limits are rlimits only"
		m.log.Warn("sandbox without cgroups", "err", err)
		return nil
	}
	m.cg = cg
	return nil
}

// Probe says, without changing anything, how a server started now would
// confine apps: for `nua doctor`.
func (m *Manager) Probe() string {
	switch {
	case m.cfg.Disabled:
		return "off (--sandbox=off): apps run as nua's own user"
	case os.Geteuid() != 0:
		return fmt.Sprintf("off: nua runs as uid %d, not root, so apps run as nua's own user with no limits", os.Geteuid())
	}
	if _, err := os.Stat(filepath.Join(m.cfg.CgroupRoot, "cgroup.controllers")); err == nil {
		return "on: each app runs under its own uid, limits through cgroup v2"
	}
	if _, err := os.Stat(filepath.Join(m.cfg.CgroupRoot, "pids", "cgroup.procs")); err == nil {
		return "on: each app runs under its own uid, limits through cgroup v1"
	}
	return "on: each app runs under its own uid; no cgroups found, so limits are rlimits only"
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
	// Name names the job's cgroup: "web.1", "build", "release", "run".
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

// Group is a cgroup of an app's: the commands it starts share its limits
// and are killed together, however they try to leave it.
type Group struct {
	s  *Sandbox
	cg string // the cgroup's leaf: its name and a unique suffix; "" unconfined
	// dirs are the cgroup's dirs, one per controller.
	dirs []string
	// limits are the group's, applied as rlimits on hosts without cgroups.
	limits Limits
}

// Group makes a cgroup named name (plus a unique suffix) with limits l.
// The caller calls Release once its commands have ended.
func (s *Sandbox) Group(name string, l Limits) (*Group, error) {
	if !jobNameRE.MatchString(name) {
		return nil, fmt.Errorf("sandbox: bad job name %q", name)
	}
	g := &Group{s: s, limits: l}
	if !s.Confined() || s.m.cg == nil {
		return g, nil
	}
	g.cg = name + "." + strconv.FormatUint(s.m.seq.Add(1), 36)
	dirs, err := s.m.cg.create(s.app, g.cg, l)
	if err != nil {
		removeJob(s.m.cg, s.app, g.cg)
		return nil, fmt.Errorf("sandbox %s %s: %w", s.app, name, err)
	}
	g.dirs = dirs
	return g, nil
}

// Command returns the command that runs j (whose Name and Limits are the
// group's) in the group. It runs in its own process group (or session),
// dies with the daemon's thread that started it, and, when ctx ends, its
// process group and everything in the cgroup are killed. The caller sets
// Stdin, Stdout and Stderr.
func (g *Group) Command(ctx context.Context, j Job) *exec.Cmd {
	attr := &syscall.SysProcAttr{Setpgid: !j.Session, Setsid: j.Session, Pdeathsig: syscall.SIGKILL}
	if !g.s.Confined() {
		cmd := exec.CommandContext(ctx, j.Argv[0], j.Argv[1:]...)
		cmd.Dir, cmd.Env, cmd.SysProcAttr = j.Dir, j.Env, attr
		cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
		return cmd
	}
	uid := strconv.Itoa(g.s.uid)
	args := []string{HelperCommand, "--uid", uid, "--gid", uid}
	for _, d := range g.dirs {
		args = append(args, "--cgroup", d)
	}
	if g.cg == "" {
		args = append(args, "--memory", strconv.FormatInt(g.limits.Memory, 10),
			"--tasks", strconv.Itoa(g.limits.Tasks))
	}
	args = append(args, "--")
	args = append(args, j.Argv...)
	cmd := exec.CommandContext(ctx, g.s.m.cfg.Helper, args...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = j.Dir, j.Env, attr
	cmd.Cancel = func() error {
		err := killGroup(cmd.Process.Pid)
		g.Kill()
		return err
	}
	return cmd
}

// Proc is one command in a group of its own.
type Proc struct {
	*exec.Cmd
	*Group
}

// Command returns the command that runs j in a group of its own, named
// j.Name with limits j.Limits (see Group.Command). The caller calls
// Release once it has ended.
func (s *Sandbox) Command(ctx context.Context, j Job) (*Proc, error) {
	if len(j.Argv) == 0 {
		return nil, errors.New("sandbox: empty command")
	}
	g, err := s.Group(j.Name, j.Limits)
	if err != nil {
		return nil, err
	}
	return &Proc{Cmd: g.Command(ctx, j), Group: g}, nil
}

// killGroup SIGKILLs the process group led by pid.
func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Kill kills every process in the group's cgroup, those that left its
// process group or session included. Without cgroups it does nothing.
func (g *Group) Kill() {
	if g.cg == "" {
		return
	}
	if err := killJob(g.s.m.cg, g.s.app, g.cg); err != nil {
		g.s.m.log.Warn("kill job", "app", g.s.app, "job", g.cg, "err", err)
	}
}

// Release kills what is left of the job and removes its cgroup. Call it
// once the job's command has ended.
func (g *Group) Release() {
	if g.cg == "" {
		return
	}
	if err := removeJob(g.s.m.cg, g.s.app, g.cg); err != nil {
		g.s.m.log.Warn("remove job cgroup", "app", g.s.app, "job", g.cg, "err", err)
	}
}

// Usage is what a job has used so far.
type Usage struct {
	Memory   int64         // bytes now in use
	CPU      time.Duration // CPU time since the job started
	OOMKills int           // times the kernel killed a process of the job for memory
}

// Usage reports the job's use of its limits; zero without cgroups.
func (g *Group) Usage() Usage {
	if g.cg == "" {
		return Usage{}
	}
	return g.s.m.cg.usage(g.s.app, g.cg)
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

// OwnTree gives the app, when the sandbox is confined, whatever under dir
// is not its own yet (what nua itself wrote there), but the subtrees in
// skip. Symlinks are not followed.
func (s *Sandbox) OwnTree(dir string, skip ...string) error {
	if !s.Confined() {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() && slices.Contains(skip, path) {
			return fs.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && (int(st.Uid) != s.uid || int(st.Gid) != s.uid) {
			return os.Lchown(path, s.uid, s.uid)
		}
		return nil
	})
}

// Own makes dir (created if missing, mode 0700) and, when the sandbox is
// confined, everything under it belong to the app. Only a tree whose top
// is not the app's yet is walked, so calling it again is cheap. dir must
// be a real directory, not a symlink an app put there: nothing is followed.
func (s *Sandbox) Own(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if !s.Confined() {
		return nil
	}
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("give %s to app %s: %w (a symlink?)", dir, s.app, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if int(st.Uid) != s.uid || int(st.Gid) != s.uid {
		if err := s.OwnTree(dir); err != nil {
			return fmt.Errorf("give %s to app %s: %w", dir, s.app, err)
		}
		if err := unix.Fchown(fd, s.uid, s.uid); err != nil {
			return err
		}
	}
	return unix.Fchmod(fd, 0o700)
}

// Confined reports whether the group's commands run confined.
func (g *Group) Confined() bool { return g.s.Confined() }

// OwnTree is the group's sandbox's OwnTree.
func (g *Group) OwnTree(dir string, skip ...string) error { return g.s.OwnTree(dir, skip...) }

// Seed is the group's sandbox's Seed.
func (g *Group) Seed(dst, src string) error { return g.s.Seed(dst, src) }
