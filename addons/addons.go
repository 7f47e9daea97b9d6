// Package addons runs the backing services apps attach: one Driver per
// kind (PostgreSQL, Redis, MariaDB), each wrapping a server from the host
// that nua initialises under its data dir and keeps running with the
// supervisor. Service is the registry the platform calls.
package addons

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/nua-paas/nua"
)

// Driver runs one kind of service.
type Driver interface {
	// Kind is the nua.AddonKind name it serves.
	Kind() string
	// Open starts the servers of the addons made before, as after a
	// daemon restart; a kind with no addons starts nothing.
	Open(ctx context.Context) error
	// Provision makes the addon name and returns its URL; on error
	// nothing of it is left.
	Provision(ctx context.Context, name string) (string, error)
	// Deprovision deletes the addon with its data; one gone already is
	// no error.
	Deprovision(ctx context.Context, name string) error
	// Info describes the addon's data as label/value pairs.
	Info(ctx context.Context, a nua.Addon) ([][2]string, error)
	// Client is the kind's client connected to the addon: its argv, and
	// the variables with its credentials, for its environment.
	Client(a nua.Addon) ([]string, map[string]string, error)
	// Doctor says whether the host has the server, and how it runs.
	Doctor(ctx context.Context) Check
}

// Check is what doctor shows of a kind.
type Check struct {
	Kind    string
	Binary  string // the server's path, "" when missing
	Version string
	Problem string // what to install, when missing
	// Servers are the kind's running servers.
	Servers []Server
}

// Server is one server process as doctor shows it.
type Server struct {
	Name    string
	PID     int
	Running bool
	Memory  int64 // resident bytes of its processes
}

// Service is the registry of drivers, the platform's nua.AddonService.
type Service struct {
	drivers []Driver
}

var _ nua.AddonService = (*Service)(nil)

// New returns a Service over drivers, in the order doctor lists them.
func New(drivers ...Driver) *Service { return &Service{drivers: drivers} }

// Open starts every driver's servers, all at once; a driver that fails
// to is named in the error and the others still start.
func (s *Service) Open(ctx context.Context) error {
	errs := make([]string, len(s.drivers))
	var wg sync.WaitGroup
	for i, d := range s.drivers {
		wg.Go(func() {
			if err := d.Open(ctx); err != nil {
				errs[i] = fmt.Sprintf("%s: %v", d.Kind(), err)
			}
		})
	}
	wg.Wait()
	errs = slices.DeleteFunc(errs, func(e string) bool { return e == "" })
	if len(errs) > 0 {
		return fmt.Errorf("start addon servers: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (s *Service) driver(kind string) (Driver, error) {
	i := slices.IndexFunc(s.drivers, func(d Driver) bool { return d.Kind() == kind })
	if i < 0 {
		return nil, fmt.Errorf("%w: this server offers no %s addons", nua.ErrInvalid, kind)
	}
	return s.drivers[i], nil
}

// Provision implements nua.AddonService.
func (s *Service) Provision(ctx context.Context, kind, name string) (string, error) {
	d, err := s.driver(kind)
	if err != nil {
		return "", err
	}
	return d.Provision(ctx, name)
}

// Deprovision implements nua.AddonService.
func (s *Service) Deprovision(ctx context.Context, kind, name string) error {
	d, err := s.driver(kind)
	if err != nil {
		return err
	}
	return d.Deprovision(ctx, name)
}

// Info implements nua.AddonService.
func (s *Service) Info(ctx context.Context, a nua.Addon) ([][2]string, error) {
	d, err := s.driver(a.Kind)
	if err != nil {
		return nil, err
	}
	return d.Info(ctx, a)
}

// Client implements nua.AddonService.
func (s *Service) Client(a nua.Addon) ([]string, map[string]string, error) {
	d, err := s.driver(a.Kind)
	if err != nil {
		return nil, nil, err
	}
	return d.Client(a)
}

// Doctor checks every kind.
func (s *Service) Doctor(ctx context.Context) []Check {
	var out []Check
	for _, d := range s.drivers {
		c := d.Doctor(ctx)
		c.Kind = d.Kind()
		out = append(out, c)
	}
	return out
}

// Password returns a new random password: 32 bytes, hex-encoded, so that
// it needs no quoting in a URL, SQL or a config file.
func Password() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Ident turns an addon name (a DNS label) into a database identifier:
// dashes become underscores.
func Ident(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Missing is the error of a server binary the host lacks: one line naming
// the Debian package.
func Missing(kind, binary, pkg string) error {
	return fmt.Errorf("%w: %s addons need %s, which this server lacks: install it with `apt-get install %s`", nua.ErrInvalid, kind, binary, pkg)
}

// FindBinary returns the first of dirs holding an executable name, or
// Missing's error.
func FindBinary(kind, name, pkg string, dirs []string) (string, error) {
	for _, d := range dirs {
		p := d + "/" + name
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", Missing(kind, name, pkg)
}

// LastLine is the last line of a program's output, for an error message.
func LastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// RunSQL runs a database client (argv) with sql on its stdin, never on
// its command line, and returns what it printed, trimmed; an error holds
// the client's last line of complaint.
func RunSQL(ctx context.Context, argv []string, sql string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PGCONNECT_TIMEOUT=5"}
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %v: %s", filepath.Base(argv[0]), err, LastLine(stderr.Bytes()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Dumper is a Driver that can dump an addon's data and load a dump back,
// for backups.
type Dumper interface {
	// Dump writes the addon's data to w.
	Dump(ctx context.Context, a nua.Addon, w io.Writer) error
	// Restore replaces the addon's data with the dump r gives.
	Restore(ctx context.Context, a nua.Addon, r io.Reader) error
}

var _ nua.AddonDumper = (*Service)(nil)

func (s *Service) dumper(kind string) (Dumper, error) {
	d, err := s.driver(kind)
	if err != nil {
		return nil, err
	}
	dd, ok := d.(Dumper)
	if !ok {
		return nil, fmt.Errorf("%w: %s addons cannot be backed up yet", nua.ErrInvalid, kind)
	}
	return dd, nil
}

// Dump implements nua.AddonDumper.
func (s *Service) Dump(ctx context.Context, a nua.Addon, w io.Writer) error {
	d, err := s.dumper(a.Kind)
	if err != nil {
		return err
	}
	return d.Dump(ctx, a, w)
}

// Restore implements nua.AddonDumper.
func (s *Service) Restore(ctx context.Context, a nua.Addon, r io.Reader) error {
	d, err := s.dumper(a.Kind)
	if err != nil {
		return err
	}
	return d.Restore(ctx, a, r)
}

// RunTool runs a server's client tool (argv) with env (its credentials)
// and stdin and stdout as given; an error holds the tool's last line of
// complaint.
func RunTool(ctx context.Context, argv, env []string, stdin io.Reader, stdout io.Writer) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}, env...)
	cmd.Stdin, cmd.Stdout = stdin, stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", filepath.Base(argv[0]), err, LastLine(stderr.Bytes()))
	}
	return nil
}
