package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroups is one cgroup hierarchy layout: v1 (a mount per controller) or
// v2 (one unified tree). Jobs live at NUA/APP/JOB under the daemon's own
// cgroup, so a systemd unit's delegated subtree holds them.
type cgroups interface {
	kind() string
	// create makes the job's cgroup with its limits and returns the dirs
	// whose cgroup.procs the helper joins.
	create(app, job string, l Limits) ([]string, error)
	// procs lists the pids in the job's cgroup.
	procs(app, job string) ([]int, error)
	// freeze stops (or thaws) every process of the job, so none can fork
	// while they are being killed; false when the hierarchy cannot.
	freeze(app, job string, frozen bool) bool
	// dirs are the job's (or, with job "", the app's) dirs in every controller.
	dirs(app, job string) []string
	usage(app, job string) Usage
}

// openCgroups finds the host's cgroup layout, makes the cgroup named group
// under the daemon's own that holds the apps', and clears what a previous
// daemon with the same group left in it.
func openCgroups(root, group string) (cgroups, error) {
	own, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	var cg cgroups
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		cg, err = openV2(root, own[""], group)
		if err != nil {
			return nil, err
		}
	} else {
		cg, err = openV1(root, own, group)
		if err != nil {
			return nil, err
		}
	}
	for _, d := range cg.dirs("", "") { // leftovers of a daemon that died
		clearTree(cg, d)
	}
	return cg, nil
}

// ownCgroups reads /proc/self/cgroup: controller → path ("" for v2).
func ownCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	own := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			own[strings.TrimPrefix(c, "name=")] = parts[2]
		}
	}
	return own, nil
}

// v1Controllers are the v1 controllers nua uses; pids must be there.
var v1Controllers = []string{"pids", "memory", "cpu", "cpuacct", "freezer"}

type v1 struct {
	base map[string]string // controller → its NUA dir
}

func openV1(root string, own map[string]string, group string) (*v1, error) {
	c := &v1{base: map[string]string{}}
	seen := map[string]bool{}
	for _, ctrl := range v1Controllers {
		mnt := filepath.Join(root, ctrl)
		real, err := filepath.EvalSymlinks(mnt)
		if err != nil || seen[real] {
			continue
		}
		path, ok := own[ctrl]
		if !ok {
			continue
		}
		base := filepath.Join(mnt, path, group)
		if err := os.MkdirAll(base, 0o755); err != nil {
			if ctrl == "pids" {
				return nil, fmt.Errorf("cgroup v1 pids: %w", err)
			}
			continue
		}
		seen[real] = true
		c.base[ctrl] = base
	}
	if c.base["pids"] == "" {
		return nil, errors.New("cgroup v1 without the pids controller")
	}
	return c, nil
}

func (c *v1) kind() string {
	var names []string
	for _, ctrl := range v1Controllers {
		if c.base[ctrl] != "" {
			names = append(names, ctrl)
		}
	}
	return "cgroup v1 (" + strings.Join(names, ", ") + ")"
}

func (c *v1) dirs(app, job string) []string {
	var out []string
	for _, ctrl := range v1Controllers {
		if b := c.base[ctrl]; b != "" {
			out = append(out, filepath.Join(b, app, job))
		}
	}
	return out
}

func (c *v1) dir(ctrl, app, job string) string {
	if c.base[ctrl] == "" {
		return ""
	}
	return filepath.Join(c.base[ctrl], app, job)
}

func (c *v1) create(app, job string, l Limits) ([]string, error) {
	dirs := c.dirs(app, job)
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	var errs []error
	if d := c.dir("memory", app, job); d != "" && l.Memory > 0 {
		v := strconv.FormatInt(l.Memory, 10)
		errs = append(errs, write(d, "memory.limit_in_bytes", v))
		if _, err := os.Stat(filepath.Join(d, "memory.memsw.limit_in_bytes")); err == nil {
			errs = append(errs, write(d, "memory.memsw.limit_in_bytes", v))
		}
	}
	if d := c.dir("cpu", app, job); d != "" && l.CPU > 0 {
		errs = append(errs, write(d, "cpu.cfs_period_us", "100000"),
			write(d, "cpu.cfs_quota_us", strconv.Itoa(int(l.CPU*100000))))
	}
	if l.Tasks > 0 {
		errs = append(errs, write(c.dir("pids", app, job), "pids.max", strconv.Itoa(l.Tasks)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("set limits: %w", err)
	}
	return dirs, nil
}

func (c *v1) procs(app, job string) ([]int, error) {
	return readPids(c.dir("pids", app, job))
}

func (c *v1) freeze(app, job string, frozen bool) bool {
	d := c.dir("freezer", app, job)
	if d == "" {
		return false
	}
	state := "THAWED"
	if frozen {
		state = "FROZEN"
	}
	if write(d, "freezer.state", state) != nil {
		return false
	}
	for i := 0; frozen && i < 100; i++ { // FREEZING until every task stopped
		b, err := os.ReadFile(filepath.Join(d, "freezer.state"))
		if err != nil || strings.TrimSpace(string(b)) == "FROZEN" {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

func (c *v1) usage(app, job string) Usage {
	var u Usage
	if d := c.dir("memory", app, job); d != "" {
		u.Memory = readInt(filepath.Join(d, "memory.usage_in_bytes"))
		u.OOMKills = int(readField(filepath.Join(d, "memory.oom_control"), "oom_kill"))
	}
	if d := c.dir("cpuacct", app, job); d != "" {
		u.CPU = time.Duration(readInt(filepath.Join(d, "cpuacct.usage")))
	}
	return u
}

type v2 struct {
	base string // the NUA dir
}

// openV2 prepares nua's subtree under the daemon's own cgroup: the daemon
// moves to a leaf of its own (a cgroup with processes cannot hand
// controllers down), and memory, cpu and pids are enabled below.
func openV2(root, own, group string) (*v2, error) {
	top := filepath.Join(root, own)
	if pids, _ := readPids(top); len(pids) > 0 {
		leaf := filepath.Join(top, "daemon")
		if err := os.MkdirAll(leaf, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup v2: %w", err)
		}
		for _, pid := range pids {
			write(leaf, "cgroup.procs", strconv.Itoa(pid)) // a pid that exited meanwhile fails
		}
	}
	base := filepath.Join(top, group)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup v2: %w", err)
	}
	for _, d := range []string{top, base} {
		if err := enableV2(d); err != nil {
			return nil, fmt.Errorf("cgroup v2: enable controllers in %s (is the subtree delegated to nua?): %w", d, err)
		}
	}
	return &v2{base: base}, nil
}

func enableV2(dir string) error {
	return write(dir, "cgroup.subtree_control", "+memory +cpu +pids")
}

func (c *v2) kind() string { return "cgroup v2 (memory, cpu, pids)" }

func (c *v2) dirs(app, job string) []string { return []string{filepath.Join(c.base, app, job)} }

func (c *v2) create(app, job string, l Limits) ([]string, error) {
	appDir := filepath.Join(c.base, app)
	if err := os.MkdirAll(appDir, 0o755); err != nil {
		return nil, err
	}
	if err := enableV2(appDir); err != nil {
		return nil, err
	}
	d := filepath.Join(appDir, job)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	var errs []error
	if l.Memory > 0 {
		errs = append(errs, write(d, "memory.max", strconv.FormatInt(l.Memory, 10)))
		if _, err := os.Stat(filepath.Join(d, "memory.swap.max")); err == nil {
			errs = append(errs, write(d, "memory.swap.max", "0"))
		}
	}
	if l.CPU > 0 {
		errs = append(errs, write(d, "cpu.max", strconv.Itoa(int(l.CPU*100000))+" 100000"))
	}
	if l.Tasks > 0 {
		errs = append(errs, write(d, "pids.max", strconv.Itoa(l.Tasks)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("set limits: %w", err)
	}
	return []string{d}, nil
}

func (c *v2) procs(app, job string) ([]int, error) {
	return readPids(filepath.Join(c.base, app, job))
}

func (c *v2) freeze(app, job string, frozen bool) bool {
	v := "0"
	if frozen {
		v = "1"
	}
	return write(filepath.Join(c.base, app, job), "cgroup.freeze", v) == nil
}

func (c *v2) usage(app, job string) Usage {
	d := filepath.Join(c.base, app, job)
	return Usage{
		Memory:   readInt(filepath.Join(d, "memory.current")),
		CPU:      time.Duration(readField(filepath.Join(d, "cpu.stat"), "usage_usec")) * time.Microsecond,
		OOMKills: int(readField(filepath.Join(d, "memory.events"), "oom_kill")),
	}
}

// killJob kills every process in the job's cgroup: frozen first where the
// hierarchy can, so a fork bomb cannot outrun the kills.
func killJob(c cgroups, app, job string) error {
	for round := 0; round < 100; round++ {
		pids, err := c.procs(app, job)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && len(pids) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
		frozen := c.freeze(app, job, true)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if frozen {
			c.freeze(app, job, false) // killed tasks die once thawed
		}
		time.Sleep(time.Duration(min(round+1, 10)) * time.Millisecond)
	}
	return errors.New("processes still in the cgroup after 100 rounds of SIGKILL")
}

// removeJob removes the job's dirs; it kills what is left first.
func removeJob(c cgroups, app, job string) error {
	if err := killJob(c, app, job); err != nil {
		return err
	}
	var errs []error
	for _, d := range c.dirs(app, job) {
		var err error
		for i := 0; i < 50; i++ { // a killed task can hold the cgroup a moment
			if err = os.Remove(d); err == nil || errors.Is(err, fs.ErrNotExist) {
				err = nil
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// clearTree kills and removes every job cgroup below dir, nua's dir in
// one controller, and the app dirs.
func clearTree(c cgroups, dir string) {
	apps, _ := os.ReadDir(dir)
	for _, a := range apps {
		if a.IsDir() {
			clearApp(c, a.Name(), filepath.Join(dir, a.Name()))
		}
	}
}

// clearApp kills and removes the jobs of app whose dir (in one controller)
// is dir, then dir itself.
func clearApp(c cgroups, app, dir string) {
	jobs, _ := os.ReadDir(dir)
	for _, j := range jobs {
		if j.IsDir() {
			removeJob(c, app, j.Name())
		}
	}
	os.Remove(dir)
}

func write(dir, file, value string) error {
	return os.WriteFile(filepath.Join(dir, file), []byte(value), 0)
}

func readPids(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// readField reads "key value" lines and returns key's value.
func readField(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
