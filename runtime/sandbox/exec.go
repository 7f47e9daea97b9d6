package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exec is the helper's side of a sandbox (`nua sandbox-exec ARGS`): it
// joins the cgroups given with --cgroup, sets rlimits, drops to --uid and
// --gid with no supplementary groups and no way to gain privileges again,
// and execs the command after "--" with the environment it was given. It
// returns only on failure.
func Exec(args []string) error {
	var (
		uid, gid = -1, -1
		tasks    int
		memory   int64
		cgroups  []string
	)
	for len(args) > 0 && args[0] != "--" {
		if len(args) < 2 {
			return fmt.Errorf("sandbox-exec: %s needs a value", args[0])
		}
		flag, val := args[0], args[1]
		args = args[2:]
		var err error
		switch flag {
		case "--uid":
			uid, err = strconv.Atoi(val)
		case "--gid":
			gid, err = strconv.Atoi(val)
		case "--tasks":
			tasks, err = strconv.Atoi(val)
		case "--memory":
			memory, err = strconv.ParseInt(val, 10, 64)
		case "--cgroup":
			cgroups = append(cgroups, val)
		default:
			err = errors.New("unknown flag")
		}
		if err != nil {
			return fmt.Errorf("sandbox-exec: %s %q: %v", flag, val, err)
		}
	}
	if len(args) < 2 {
		return errors.New("sandbox-exec: give the command after --")
	}
	argv := args[1:]
	if uid <= 0 || gid <= 0 {
		return errors.New("sandbox-exec: --uid and --gid must name an app's ids, never root")
	}
	pid := strconv.Itoa(os.Getpid())
	for _, d := range cgroups {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(pid), 0); err != nil {
			return fmt.Errorf("sandbox-exec: join cgroup: %w", err)
		}
	}
	if err := setLimits(tasks, memory); err != nil {
		return err
	}
	// Go applies these to every thread of the process.
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("sandbox-exec: setgroups: %w", err)
	}
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("sandbox-exec: setgid: %w", err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("sandbox-exec: setuid: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("sandbox-exec: no_new_privs: %w", err)
	}
	// A change of uid clears the parent-death signal: set it again.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("sandbox-exec: pdeathsig: %w", err)
	}
	// A host PATH naming a dir only root may enter (/root/.cargo/bin) would
	// make the app's lookups fail with "permission denied" instead of going
	// on to the next match: keep the dirs the app's user can search.
	os.Setenv("PATH", reachablePath(os.Getenv("PATH")))
	path, err := lookPath(argv[0], os.Getenv("PATH"))
	if err != nil {
		return err
	}
	return fmt.Errorf("sandbox-exec: exec %s: %w", argv[0], syscall.Exec(path, argv, os.Environ()))
}

// setLimits sets the rlimits of a job: no core dumps and, as a floor for
// hosts without cgroups, a cap on the uid's tasks and on address space.
func setLimits(tasks int, memory int64) error {
	limits := []struct {
		res int
		val uint64
	}{{unix.RLIMIT_CORE, 0}}
	if tasks > 0 {
		// RLIMIT_NPROC counts every task of the uid: all of the app's jobs.
		limits = append(limits, struct {
			res int
			val uint64
		}{unix.RLIMIT_NPROC, uint64(tasks) * 16})
	}
	if memory > 0 { // no cgroups: bound the address space instead
		limits = append(limits, struct {
			res int
			val uint64
		}{unix.RLIMIT_AS, uint64(memory) * 4})
	}
	for _, l := range limits {
		if err := unix.Setrlimit(l.res, &unix.Rlimit{Cur: l.val, Max: l.val}); err != nil {
			return fmt.Errorf("sandbox-exec: setrlimit %d: %w", l.res, err)
		}
	}
	return nil
}

// lookPath finds file on path, as the app's user (it runs after setuid).
func lookPath(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, file)
		if unix.Access(p, unix.X_OK) == nil {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("sandbox-exec: %q not found in the app's PATH", file)
}

// ServeHelper makes the running binary the sandbox's helper: when it was
// started as HelperCommand, it applies the sandbox and execs the command,
// exiting 126 on failure; otherwise it returns at once. nua's main calls
// it first, and so do the tests whose binary stands in for nua's.
func ServeHelper() {
	if len(os.Args) < 2 || os.Args[1] != HelperCommand {
		return
	}
	fmt.Fprintln(os.Stderr, Exec(os.Args[2:]))
	os.Exit(126)
}
