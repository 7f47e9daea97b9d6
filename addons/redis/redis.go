// Package redis serves Redis addons: one redis-server (Debian's
// redis-server 7) per addon, since Redis's ACLs cannot fence a database,
// each small (a few MB idle) and protected by a password, listening on
// 127.0.0.1 and on a unix socket only nua reaches, its data under
// DATA/services/redis/NAME.
package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/addons"
	"github.com/nua-paas/nua/addons/supervisor"
)

// Kind is the addon kind this package serves.
const Kind = "redis"

// Config sets up a Driver.
type Config struct {
	Host addons.Host
	// BinDirs are searched for redis-server and redis-cli; default
	// /usr/bin.
	BinDirs []string
	// MaxMemory bounds each instance's data (default 64mb).
	MaxMemory string
}

// Driver runs the instances.
type Driver struct {
	cfg Config
	dir string
	mu  sync.Mutex
}

var _ addons.Driver = (*Driver)(nil)

// New returns a Driver; it touches nothing.
func New(cfg Config) *Driver {
	if cfg.BinDirs == nil {
		cfg.BinDirs = []string{"/usr/bin", "/usr/local/bin"}
	}
	if cfg.MaxMemory == "" {
		cfg.MaxMemory = "64mb"
	}
	return &Driver{cfg: cfg, dir: filepath.Join(cfg.Host.Dir, Kind)}
}

// Kind implements addons.Driver.
func (d *Driver) Kind() string { return Kind }

func (d *Driver) bin(name string) (string, error) {
	return addons.FindBinary(Kind, name, "redis-server", d.cfg.BinDirs)
}

func (d *Driver) instance(name string) string { return filepath.Join(d.dir, name) }

// Open implements addons.Driver: it starts every instance made before.
func (d *Driver) Open(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	entries, err := os.ReadDir(d.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(entries))
	for i, e := range entries {
		if _, err := os.Stat(filepath.Join(d.instance(e.Name()), "redis.conf")); err != nil {
			continue
		}
		wg.Go(func() { errs[i] = d.start(ctx, e.Name()) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// conf is an instance's redis.conf.
func (d *Driver) conf(dir string, port int, password string) string {
	return fmt.Sprintf(`# Written by nua.
bind 127.0.0.1
port %d
protected-mode yes
unixsocket %s
unixsocketperm 700
daemonize no
dir %s
requirepass %s
maxmemory %s
maxmemory-policy noeviction
appendonly yes
appendfsync everysec
save 3600 1 300 100 60 10000
io-threads 1
databases 16
logfile ""
`, port, filepath.Join(dir, "redis.sock"), dir, password, d.cfg.MaxMemory)
}

// settings reads the port and password of an instance's redis.conf.
func settings(dir string) (port int, password string, err error) {
	data, err := os.ReadFile(filepath.Join(dir, "redis.conf"))
	if err != nil {
		return 0, "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "port":
			port, _ = strconv.Atoi(v)
		case "requirepass":
			password = v
		}
	}
	if port == 0 || password == "" {
		return 0, "", fmt.Errorf("%s/redis.conf has no port or password", dir)
	}
	return port, password, nil
}

func (d *Driver) start(ctx context.Context, name string) error {
	server, err := d.bin("redis-server")
	if err != nil {
		return err
	}
	dir := d.instance(name)
	port, pw, err := settings(dir)
	if err != nil {
		return err
	}
	return d.cfg.Host.Supervisor.Start(ctx, supervisor.Spec{
		Name: Kind + "/" + name, Path: server, Args: []string{filepath.Join(dir, "redis.conf")},
		Credential: d.cfg.Host.Credential(), PIDFile: filepath.Join(dir, "redis.pid"), Log: filepath.Join(dir, "redis.log"),
		Ready: func(ctx context.Context) error {
			_, err := Do(ctx, port, pw, "PING")
			return err
		},
	})
}

// Provision implements addons.Driver: a new instance on a free port.
func (d *Driver) Provision(ctx context.Context, name string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.bin("redis-server"); err != nil {
		return "", err
	}
	dir := d.instance(name)
	if _, err := os.Stat(dir); err == nil {
		return "", fmt.Errorf("redis instance %s: %w", name, nua.ErrExists)
	}
	pw, err := addons.Password()
	if err != nil {
		return "", err
	}
	port, err := addons.FreePort()
	if err != nil {
		return "", err
	}
	err = d.cfg.Host.Mkdir(dir)
	if err == nil {
		err = d.cfg.Host.WriteFile(filepath.Join(dir, "redis.conf"), []byte(d.conf(dir, port, pw)))
	}
	if err == nil {
		err = d.start(ctx, name)
	}
	if err != nil {
		return "", errors.Join(err, os.RemoveAll(dir))
	}
	return addons.URL("redis", port, "", pw, ""), nil
}

// Deprovision implements addons.Driver.
func (d *Driver) Deprovision(ctx context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfg.Host.Supervisor.Stop(Kind + "/" + name)
	return os.RemoveAll(d.instance(name))
}

// Left reports whether anything of the addon remains: its dir or server.
func (d *Driver) Left(ctx context.Context, name string) (bool, error) {
	if _, running := d.cfg.Host.Supervisor.Status(Kind + "/" + name); running {
		return true, nil
	}
	_, err := os.Stat(d.instance(name))
	return err == nil, nil
}

// Info implements addons.Driver.
func (d *Driver) Info(ctx context.Context, a nua.Addon) ([][2]string, error) {
	e, err := addons.ParseURL(a.URL)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(e.Port)
	info, err := Do(ctx, port, e.Password, "INFO")
	if err != nil {
		return nil, err
	}
	field := func(k string) string {
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, k+":"); ok {
				return v
			}
		}
		return "?"
	}
	keys := field("db0")
	if keys == "?" {
		keys = "keys=0"
	}
	return [][2]string{
		{"Version", "Redis " + field("redis_version")}, {"Memory", field("used_memory_human") + " of " + d.cfg.MaxMemory},
		{"Clients", field("connected_clients")}, {"Keys (db 0)", keys}, {"Port", e.Port},
	}, nil
}

// Client implements addons.Driver: redis-cli, the password in
// REDISCLI_AUTH.
func (d *Driver) Client(a nua.Addon) ([]string, map[string]string, error) {
	e, err := addons.ParseURL(a.URL)
	if err != nil {
		return nil, nil, err
	}
	cli, err := d.bin("redis-cli")
	if err != nil {
		return nil, nil, err
	}
	return []string{cli, "-h", e.Host, "-p", e.Port}, map[string]string{"REDISCLI_AUTH": e.Password}, nil
}

// Doctor implements addons.Driver.
func (d *Driver) Doctor(ctx context.Context) addons.Check {
	server, err := d.bin("redis-server")
	if err != nil {
		return addons.Check{Problem: err.Error()}
	}
	c := addons.Check{Binary: server, Version: addons.Version("Redis", server, "--version")}
	entries, _ := os.ReadDir(d.dir)
	for _, e := range entries {
		if s := d.cfg.Host.Running(Kind+"/"+e.Name(), filepath.Join(d.instance(e.Name()), "redis.pid")); s.Running {
			c.Servers = append(c.Servers, s)
		}
	}
	return c
}

// Do sends one command, after AUTH, to the instance on port and returns
// its reply as text.
func Do(ctx context.Context, port int, password string, args ...string) (string, error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var req strings.Builder
	for _, cmd := range [][]string{{"AUTH", password}, args} {
		fmt.Fprintf(&req, "*%d\r\n", len(cmd))
		for _, a := range cmd {
			fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if _, err := conn.Write([]byte(req.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	if _, err := reply(r); err != nil {
		return "", err
	}
	return reply(r)
}

// reply reads one simple, error, integer or bulk reply.
func reply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("redis: empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("redis: unexpected reply %q", line)
}
