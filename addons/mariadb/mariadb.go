// Package mariadb serves MariaDB addons from one server nua initialises
// under DATA/services/mariadb with the host's MariaDB (Debian's
// mariadb-server): a database and a user of the same name per addon,
// reachable on 127.0.0.1 with a password, and on a unix socket only nua
// reaches.
package mariadb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/addons"
	"github.com/nua-paas/nua/addons/supervisor"
)

// Kind is the addon kind this package serves.
const Kind = "mariadb"

// settings sized for a small server.
var settings = []string{
	"--bind-address=127.0.0.1",
	"--skip-name-resolve",
	"--innodb-buffer-pool-size=16M",
	"--innodb-log-buffer-size=1M",
	"--performance-schema=OFF",
	"--max-connections=100",
	"--key-buffer-size=1M",
	"--table-open-cache=200",
	"--thread-cache-size=4",
	"--tmp-table-size=4M",
	"--max-heap-table-size=4M",
	"--character-set-server=utf8mb4",
	"--collation-server=utf8mb4_unicode_ci",
}

// Config sets up a Driver.
type Config struct {
	Host addons.Host
	// BinDirs are searched for mariadbd, mariadb-install-db and mariadb;
	// default /usr/sbin and /usr/bin.
	BinDirs []string
}

// Driver runs the server.
type Driver struct {
	cfg Config
	dir string
	mu  sync.Mutex
}

var _ addons.Driver = (*Driver)(nil)

// New returns a Driver; it touches nothing.
func New(cfg Config) *Driver {
	if cfg.BinDirs == nil {
		cfg.BinDirs = []string{"/usr/sbin", "/usr/bin"}
	}
	return &Driver{cfg: cfg, dir: filepath.Join(cfg.Host.Dir, Kind)}
}

// Kind implements addons.Driver.
func (d *Driver) Kind() string { return Kind }

func (d *Driver) data() string    { return filepath.Join(d.dir, "data") }
func (d *Driver) run() string     { return filepath.Join(d.dir, "run") }
func (d *Driver) socket() string  { return filepath.Join(d.run(), "mysqld.sock") }
func (d *Driver) pidFile() string { return filepath.Join(d.dir, "mariadb.pid") }
func (d *Driver) portFile() string {
	return filepath.Join(d.dir, "port")
}

func (d *Driver) bin(name string) (string, error) {
	return addons.FindBinary(Kind, name, "mariadb-server", d.cfg.BinDirs)
}

func (d *Driver) initialised() bool {
	_, err := os.Stat(d.portFile())
	return err == nil
}

// Open implements addons.Driver: it starts the server if it exists.
func (d *Driver) Open(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.initialised() {
		return nil
	}
	return d.start(ctx)
}

func (d *Driver) ensure(ctx context.Context) error {
	if !d.initialised() {
		if err := d.install(ctx); err != nil {
			return err
		}
	}
	return d.start(ctx)
}

// install makes the system tables. The accounts of root and of the
// servers' user log in through the socket with the OS user's identity.
func (d *Driver) install(ctx context.Context) error {
	installDB, err := d.bin("mariadb-install-db")
	if err != nil {
		return err
	}
	h := d.cfg.Host
	err = h.InitData(ctx, d.data(), d.run(), installDB, "--no-defaults", "--datadir="+d.data(), "--user="+h.UserName(),
		"--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve")
	if err != nil {
		return err
	}
	port, err := addons.FreePort()
	if err != nil {
		return err
	}
	return h.WriteFile(d.portFile(), []byte(strconv.Itoa(port)))
}

func (d *Driver) port() (int, error) {
	data, err := os.ReadFile(d.portFile())
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

func (d *Driver) start(ctx context.Context) error {
	server, err := d.bin("mariadbd")
	if err != nil {
		return err
	}
	port, err := d.port()
	if err != nil {
		return err
	}
	args := append([]string{"--no-defaults", "--datadir=" + d.data(), "--socket=" + d.socket(),
		"--port=" + strconv.Itoa(port), "--pid-file=" + filepath.Join(d.run(), "mariadbd.pid")}, settings...)
	return d.cfg.Host.Supervisor.Start(ctx, supervisor.Spec{
		Name: Kind, Path: server, Args: args, Credential: d.cfg.Host.Credential(),
		PIDFile: d.pidFile(), Log: filepath.Join(d.dir, "mariadb.log"),
		Ready: func(ctx context.Context) error {
			_, err := d.query(ctx, "SELECT 1")
			return err
		},
	})
}

// query runs sql as the admin account through the socket, sql on stdin.
func (d *Driver) query(ctx context.Context, sql string) (string, error) {
	client, err := d.bin("mariadb")
	if err != nil {
		return "", err
	}
	me := "root"
	if d.cfg.Host.User == nil {
		me = d.cfg.Host.UserName()
	}
	return addons.RunSQL(ctx, []string{client, "--no-defaults", "-S", d.socket(), "-u", me, "-N", "-B", "--connect-timeout=5"}, sql)
}

// Provision implements addons.Driver: a user and a database of the
// addon's name, the user granted that database only.
func (d *Driver) Provision(ctx context.Context, name string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensure(ctx); err != nil {
		return "", err
	}
	id := addons.Ident(name)
	pw, err := addons.Password()
	if err != nil {
		return "", err
	}
	if _, err := d.query(ctx, fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s';", id, pw)); err != nil {
		return "", fmt.Errorf("create user: %w", err)
	}
	_, err = d.query(ctx, fmt.Sprintf("CREATE DATABASE `%s`;", id))
	if err == nil {
		_, err = d.query(ctx, fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'127.0.0.1';", id, id))
	}
	if err == nil {
		var port int
		if port, err = d.port(); err == nil {
			return addons.URL("mysql", port, id, pw, id), nil
		}
	}
	return "", errors.Join(fmt.Errorf("create database: %w", err), d.drop(context.WithoutCancel(ctx), id))
}

func (d *Driver) drop(ctx context.Context, id string) error {
	_, err := d.query(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS `%s`;\nDROP USER IF EXISTS '%s'@'127.0.0.1';", id, id))
	return err
}

// Deprovision implements addons.Driver.
func (d *Driver) Deprovision(ctx context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.initialised() {
		return nil
	}
	if err := d.start(ctx); err != nil {
		return err
	}
	return d.drop(ctx, addons.Ident(name))
}

// Exists reports whether the addon's user or database exists.
func (d *Driver) Exists(ctx context.Context, name string) (bool, error) {
	id := addons.Ident(name)
	out, err := d.query(ctx, fmt.Sprintf("SELECT (SELECT COUNT(*) FROM mysql.user WHERE user='%s') + (SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name='%s');", id, id))
	return out != "0", err
}

// Info implements addons.Driver.
func (d *Driver) Info(ctx context.Context, a nua.Addon) ([][2]string, error) {
	id := addons.Ident(a.Name)
	out, err := d.query(ctx, fmt.Sprintf("SELECT CONCAT_WS('|', VERSION(), (SELECT IFNULL(SUM(data_length+index_length),0) FROM information_schema.tables WHERE table_schema='%s'), (SELECT COUNT(*) FROM information_schema.processlist WHERE user='%s'), (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='%s'));", id, id, id))
	if err != nil {
		return nil, err
	}
	f := strings.Split(out, "|")
	if len(f) != 4 {
		return nil, fmt.Errorf("mariadb info: unexpected %q", out)
	}
	size, _ := strconv.ParseInt(f[1], 10, 64)
	return [][2]string{{"Version", "MariaDB " + f[0]}, {"Data Size", fmt.Sprintf("%.1f MB", float64(size)/(1<<20))},
		{"Connections", f[2] + "/100"}, {"Tables", f[3]}, {"Database", id}}, nil
}

// Client implements addons.Driver: the mariadb client, the password in
// MYSQL_PWD.
func (d *Driver) Client(a nua.Addon) ([]string, map[string]string, error) {
	e, err := addons.ParseURL(a.URL)
	if err != nil {
		return nil, nil, err
	}
	client, err := d.bin("mariadb")
	if err != nil {
		return nil, nil, err
	}
	return []string{client, "--no-defaults", "-h", e.Host, "-P", e.Port, "-u", e.User, e.Database},
		map[string]string{"MYSQL_PWD": e.Password}, nil
}

// Doctor implements addons.Driver.
func (d *Driver) Doctor(ctx context.Context) addons.Check {
	server, err := d.bin("mariadbd")
	if err != nil {
		return addons.Check{Problem: err.Error()}
	}
	c := addons.Check{Binary: server, Version: addons.Version("MariaDB", server, "--version")}
	if s := d.cfg.Host.Running(Kind, d.pidFile()); s.Running {
		c.Servers = []addons.Server{s}
	}
	return c
}
