package addons

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"

	"github.com/nua-paas/nua/addons/supervisor"
)

// ServiceUserName is the system user the servers run as when nua runs as
// root: PostgreSQL refuses root, and no app's uid may reach their data.
const ServiceUserName = "nua-addons"

// Host is where and as whom a driver's servers run.
type Host struct {
	// Dir holds every kind's data: DATA/services.
	Dir string
	// User runs the servers; nil: nua's own user.
	User *User
	// Supervisor keeps the servers running.
	Supervisor *supervisor.Supervisor
}

// User is the account the servers run as.
type User struct {
	Name     string
	UID, GID uint32
}

// ServiceUser returns the user the servers run as: as root, the
// nua-addons system user, made when missing; otherwise nil (nua's own
// user), with a line saying so.
func ServiceUser() (*User, string, error) {
	u, line, err := ServiceUserInfo()
	if err == nil || os.Geteuid() != 0 {
		return u, line, err
	}
	out, uerr := exec.Command("useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", ServiceUserName).CombinedOutput()
	if u, line, err := ServiceUserInfo(); uerr == nil || err == nil { // made by a racing nua
		return u, line, err
	}
	return nil, "", fmt.Errorf("make the %s user: %v: %s", ServiceUserName, uerr, out)
}

// ServiceUserInfo is ServiceUser that makes no user: as root, an error
// when nua-addons is missing.
func ServiceUserInfo() (*User, string, error) {
	if os.Geteuid() != 0 {
		me := strconv.Itoa(os.Geteuid())
		if u, err := user.Current(); err == nil {
			me = u.Username
		}
		return nil, fmt.Sprintf("addon servers run as %s, nua's own user (not root): apps running as that user too can read their data", me), nil
	}
	u, err := user.Lookup(ServiceUserName)
	if err != nil {
		return nil, "", fmt.Errorf("no %s user yet: the server makes it at its first start as root", ServiceUserName)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &User{Name: u.Username, UID: uint32(uid), GID: uint32(gid)}, "addon servers run as the " + ServiceUserName + " user", nil
}

// Credential runs a process as the host's user; nil for nua's own.
func (h Host) Credential() *syscall.Credential {
	if h.User == nil {
		return nil
	}
	return &syscall.Credential{Uid: h.User.UID, Gid: h.User.GID}
}

// UserName is the name of the account the servers run as.
func (h Host) UserName() string {
	if h.User != nil {
		return h.User.Name
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Geteuid())
}

// Mkdir makes dir and its missing parents below h.Dir, mode 0700 and
// owned by the servers' user; h.Dir itself is 0711, for them to pass.
func (h Host) Mkdir(dir string) error {
	if err := os.MkdirAll(h.Dir, 0o711); err != nil {
		return err
	}
	if h.User != nil { // the servers' user passes through nua's data dir
		if fi, err := os.Stat(filepath.Dir(h.Dir)); err == nil && fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(filepath.Dir(h.Dir), fi.Mode().Perm()|0o001); err != nil {
				return err
			}
		}
	}
	if err := os.Chmod(h.Dir, 0o711); err != nil {
		return err
	}
	rel, err := filepath.Rel(h.Dir, dir)
	if err != nil {
		return err
	}
	cur := h.Dir
	for _, p := range splitPath(rel) {
		cur = filepath.Join(cur, p)
		if err := os.Mkdir(cur, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := h.chown(cur); err != nil {
			return err
		}
	}
	return nil
}

func splitPath(p string) []string {
	var out []string
	for p != "." && p != "" && p != "/" {
		out = append([]string{filepath.Base(p)}, out...)
		p = filepath.Dir(p)
	}
	return out
}

func (h Host) chown(path string) error {
	if h.User == nil {
		return nil
	}
	return os.Lchown(path, int(h.User.UID), int(h.User.GID))
}

// WriteFile writes a file only the servers' user reads (0600), atomically.
func (h Host) WriteFile(path string, data []byte) error {
	return h.WriteFrom(path, bytes.NewReader(data))
}

// WriteFrom is WriteFile of what r gives.
func (h Host) WriteFrom(path string, r io.Reader) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = h.chown(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Command runs a program as the servers' user, with a minimal
// environment plus env.
func (h Host) Command(ctx context.Context, path string, args []string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=/nonexistent"}, env...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: h.Credential()}
	return cmd
}

// FreePort returns a TCP port free on 127.0.0.1 now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Running lists the server name as doctor shows it: its pid and memory.
func (h Host) Running(name, pidFile string) Server {
	pid := supervisor.PIDOf(pidFile)
	return Server{Name: name, PID: pid, Running: pid > 0, Memory: supervisor.Memory(pid)}
}

var versionRE = regexp.MustCompile(`\d+\.\d+(\.\d+)?`)

// Version runs binary with args and returns product and the version
// number it prints ("PostgreSQL 15.18"), or "" when it fails.
func Version(product, binary string, args ...string) string {
	out, err := exec.Command(binary, args...).Output()
	if err != nil {
		return ""
	}
	return product + " " + versionRE.FindString(string(out))
}

// InitData makes a shared server's data dir afresh (what a failed
// attempt left goes first) and its socket dir, and runs the server's
// initialising program in it as the servers' user; on error the data dir
// goes again.
func (h Host) InitData(ctx context.Context, data, sockets, program string, args ...string) error {
	os.RemoveAll(data)
	for _, dir := range []string{data, sockets} {
		if err := h.Mkdir(dir); err != nil {
			return err
		}
	}
	if out, err := h.Command(ctx, program, args).CombinedOutput(); err != nil {
		os.RemoveAll(data)
		return fmt.Errorf("%s: %v: %s", filepath.Base(program), err, LastLine(out))
	}
	return nil
}
