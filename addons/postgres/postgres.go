// Package postgres serves PostgreSQL addons from one cluster nua
// initialises under DATA/services/postgres with the host's PostgreSQL
// (Debian's postgresql-15): a database and a role of the same name per
// addon, reachable on 127.0.0.1 with a password (SCRAM) over TLS, and on a
// unix socket only nua reaches.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/addons"
	"github.com/nua-paas/nua/addons/supervisor"
)

// Kind is the addon kind this package serves.
const Kind = "postgres"

const superuser = "postgres"

// Settings sized for a small server; apps may not change them.
var settings = []string{
	"listen_addresses=127.0.0.1",
	"shared_buffers=16MB",
	"max_connections=100",
	"work_mem=4MB",
	"maintenance_work_mem=16MB",
	"effective_cache_size=128MB",
	"max_wal_size=256MB",
	"min_wal_size=32MB",
	"huge_pages=off",
	"ssl=on",
	"ssl_cert_file=server.crt",
	"ssl_key_file=server.key",
	"password_encryption=scram-sha-256",
	"logging_collector=off",
	"log_line_prefix=%m [%p] ",
}

// hba lets nua in through the socket (its dir is the servers' user's
// alone) and each role into its own database only, with its password.
const hba = `# Written by nua.
local   all        all                   trust
hostssl sameuser   all   127.0.0.1/32    scram-sha-256
host    sameuser   all   127.0.0.1/32    scram-sha-256
`

// Config sets up a Driver.
type Config struct {
	Host addons.Host
	// BinDirs are searched for postgres, initdb and psql; default: the
	// newest /usr/lib/postgresql/VERSION/bin.
	BinDirs []string
}

// Driver runs the cluster.
type Driver struct {
	cfg Config
	dir string
	mu  sync.Mutex // held while the cluster starts and addons change
}

var _ addons.Driver = (*Driver)(nil)

// New returns a Driver; it touches nothing.
func New(cfg Config) *Driver {
	if cfg.BinDirs == nil {
		cfg.BinDirs = DefaultBinDirs()
	}
	return &Driver{cfg: cfg, dir: filepath.Join(cfg.Host.Dir, Kind)}
}

// DefaultBinDirs are Debian's PostgreSQL bin dirs, newest first.
func DefaultBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		return version(b) - version(a)
	})
	return dirs
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Kind implements addons.Driver.
func (d *Driver) Kind() string { return Kind }

func (d *Driver) data() string    { return filepath.Join(d.dir, "data") }
func (d *Driver) run() string     { return filepath.Join(d.dir, "run") }
func (d *Driver) pidFile() string { return filepath.Join(d.dir, "postgres.pid") }

func (d *Driver) bin(name string) (string, error) {
	return addons.FindBinary(Kind, name, "postgresql", d.cfg.BinDirs)
}

// Open implements addons.Driver: it starts the cluster if it exists.
func (d *Driver) Open(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := os.Stat(filepath.Join(d.data(), "PG_VERSION")); err != nil {
		return nil
	}
	return d.start(ctx)
}

// ensure initialises the cluster when there is none and starts it.
func (d *Driver) ensure(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(d.data(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := d.initdb(ctx); err != nil {
			return err
		}
	}
	return d.start(ctx)
}

func (d *Driver) initdb(ctx context.Context) error {
	initdb, err := d.bin("initdb")
	if err != nil {
		return err
	}
	h := d.cfg.Host
	err = h.InitData(ctx, d.data(), d.run(), initdb, "-D", d.data(), "-U", superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-instructions")
	if err != nil {
		return err
	}
	cert, key, err := addons.SelfSignedCert("nua-postgres")
	if err != nil {
		return err
	}
	port, err := addons.FreePort()
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"server.crt": cert, "server.key": key, "pg_hba.conf": []byte(hba), "nua-port": []byte(strconv.Itoa(port)),
	} {
		if err := h.WriteFile(filepath.Join(d.data(), name), data); err != nil {
			return err
		}
	}
	return nil
}

func (d *Driver) port() (int, error) {
	data, err := os.ReadFile(filepath.Join(d.data(), "nua-port"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// start runs the cluster under the supervisor and waits until it answers.
func (d *Driver) start(ctx context.Context) error {
	postgres, err := d.bin("postgres")
	if err != nil {
		return err
	}
	port, err := d.port()
	if err != nil {
		return err
	}
	args := []string{"-D", d.data(), "-c", "port=" + strconv.Itoa(port), "-c", "unix_socket_directories=" + d.run()}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	// Its own postmaster.pid names a postmaster a killed daemon left: the
	// supervisor's pid file finds it first and stops it.
	return d.cfg.Host.Supervisor.Start(ctx, supervisor.Spec{
		Name: Kind, Path: postgres, Args: args, Credential: d.cfg.Host.Credential(),
		PIDFile: d.pidFile(), Log: filepath.Join(d.dir, "postgres.log"),
		StopSignal: syscall.SIGINT, // fast shutdown: open sessions end
		Ready: func(ctx context.Context) error {
			_, err := d.query(ctx, "SELECT 1")
			return err
		},
	})
}

// query runs sql as the superuser through the socket and returns its
// unaligned output. The SQL goes on stdin, never on a command line.
func (d *Driver) query(ctx context.Context, sql string) (string, error) {
	psql, err := d.bin("psql")
	if err != nil {
		return "", err
	}
	port, err := d.port()
	if err != nil {
		return "", err
	}
	return addons.RunSQL(ctx, []string{psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", d.run(), "-p", strconv.Itoa(port), "-U", superuser, "-d", "postgres", "-f", "-"}, sql)
}

// Provision implements addons.Driver: a role and a database owned by it,
// both named after the addon, which no other role may connect to.
func (d *Driver) Provision(ctx context.Context, name string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensure(ctx); err != nil {
		return "", err
	}
	id := ident(name)
	pw, err := addons.Password()
	if err != nil {
		return "", err
	}
	if _, err := d.query(ctx, fmt.Sprintf(`CREATE ROLE "%s" LOGIN PASSWORD '%s' CONNECTION LIMIT 50;`, id, pw)); err != nil {
		return "", fmt.Errorf("create role: %w", err)
	}
	if _, err := d.query(ctx, fmt.Sprintf(`CREATE DATABASE "%s" OWNER "%s";`, id, id)); err != nil {
		_, derr := d.query(context.WithoutCancel(ctx), fmt.Sprintf(`DROP ROLE IF EXISTS "%s";`, id))
		return "", errors.Join(fmt.Errorf("create database: %w", err), derr)
	}
	if _, err := d.query(ctx, fmt.Sprintf(`REVOKE ALL ON DATABASE "%s" FROM PUBLIC;`, id)); err != nil {
		return "", errors.Join(err, d.drop(context.WithoutCancel(ctx), id))
	}
	port, err := d.port()
	if err != nil {
		return "", errors.Join(err, d.drop(context.WithoutCancel(ctx), id))
	}
	return addons.URL("postgres", port, id, pw, id), nil
}

func (d *Driver) drop(ctx context.Context, id string) error {
	_, err := d.query(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS "%s" WITH (FORCE);`, id))
	if err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	if _, err := d.query(ctx, fmt.Sprintf(`DROP ROLE IF EXISTS "%s";`, id)); err != nil {
		return fmt.Errorf("drop role: %w", err)
	}
	return nil
}

// Deprovision implements addons.Driver.
func (d *Driver) Deprovision(ctx context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := os.Stat(filepath.Join(d.data(), "PG_VERSION")); err != nil {
		return nil // no cluster, no addon
	}
	if err := d.start(ctx); err != nil {
		return err
	}
	return d.drop(ctx, ident(name))
}

// Exists reports whether the addon's role or database exists, for tests
// that check nothing was left.
func (d *Driver) Exists(ctx context.Context, name string) (bool, error) {
	id := ident(name)
	out, err := d.query(ctx, fmt.Sprintf(`SELECT (SELECT count(*) FROM pg_roles WHERE rolname='%s') + (SELECT count(*) FROM pg_database WHERE datname='%s');`, id, id))
	return out != "0", err
}

// Info implements addons.Driver.
func (d *Driver) Info(ctx context.Context, a nua.Addon) ([][2]string, error) {
	id := ident(a.Name)
	out, err := d.query(ctx, fmt.Sprintf(`SELECT pg_size_pretty(pg_database_size('%s')) || '|' || (SELECT count(*) FROM pg_stat_activity WHERE datname='%s') || '|' || current_setting('server_version') || '|' || (SELECT count(*) FROM pg_stat_user_tables);`, id, id))
	if err != nil {
		return nil, err
	}
	f := strings.Split(out, "|")
	if len(f) != 4 {
		return nil, fmt.Errorf("pg info: unexpected %q", out)
	}
	return [][2]string{{"Version", "PostgreSQL " + f[2]}, {"Data Size", f[0]}, {"Connections", f[1] + "/50"}, {"Database", id}, {"Host", "127.0.0.1 (TLS)"}}, nil
}

// Client implements addons.Driver: psql, connected through TLS.
func (d *Driver) Client(a nua.Addon) ([]string, map[string]string, error) {
	e, err := addons.ParseURL(a.URL)
	if err != nil {
		return nil, nil, err
	}
	psql, err := d.bin("psql")
	if err != nil {
		return nil, nil, err
	}
	return []string{psql}, map[string]string{
		"PGHOST": e.Host, "PGPORT": e.Port, "PGUSER": e.User, "PGPASSWORD": e.Password,
		"PGDATABASE": e.Database, "PGSSLMODE": "require",
	}, nil
}

// Doctor implements addons.Driver.
func (d *Driver) Doctor(ctx context.Context) addons.Check {
	postgres, err := d.bin("postgres")
	if err != nil {
		return addons.Check{Problem: err.Error()}
	}
	c := addons.Check{Binary: postgres, Version: addons.Version("PostgreSQL", postgres, "--version")}
	if s := d.cfg.Host.Running(Kind, d.pidFile()); s.Running {
		c.Servers = []addons.Server{s}
	}
	return c
}

// ident is the name of the addon's role and database: the addon's, but
// for names PostgreSQL reserves (pg_...), which get a prefix.
func ident(name string) string {
	id := addons.Ident(name)
	if strings.HasPrefix(id, "pg_") {
		return "db_" + id
	}
	return id
}
