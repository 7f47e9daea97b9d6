package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/addons"
	"github.com/nua-paas/nua/addons/supervisor"
)

var _ addons.Dumper = (*Driver)(nil)

// Dump implements addons.Dumper: an RDB snapshot through redis-cli
// --rdb, as a replica would get it.
func (d *Driver) Dump(ctx context.Context, a nua.Addon, w io.Writer) error {
	e, err := addons.ParseURL(a.URL)
	if err != nil {
		return err
	}
	cli, err := d.bin("redis-cli")
	if err != nil {
		return err
	}
	return addons.RunTool(ctx, []string{cli, "-h", e.Host, "-p", e.Port, "--no-auth-warning", "--rdb", "-"},
		[]string{"REDISCLI_AUTH=" + e.Password}, nil, w)
}

// Restore implements addons.Dumper: the RDB is staged beside the
// instance's data and checked, then the instance is stopped, its AOF
// removed and the RDB put in place; it starts with the AOF off to load
// the RDB, rewrites the AOF from it, and restarts as it always runs.
func (d *Driver) Restore(ctx context.Context, a nua.Addon, r io.Reader) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dir := d.instance(a.Name)
	port, pw, err := settings(dir)
	if err != nil {
		return err
	}
	staged := filepath.Join(dir, "restore.rdb")
	br := bufio.NewReader(r)
	if magic, err := br.Peek(5); err != nil || string(magic) != "REDIS" {
		return errors.New("restore redis: the dump is not an RDB file")
	}
	if err := d.cfg.Host.WriteFrom(staged, br); err != nil {
		return fmt.Errorf("restore redis: %w", err)
	}
	defer os.Remove(staged)
	name := Kind + "/" + a.Name
	d.cfg.Host.Supervisor.Stop(name)
	if err := os.RemoveAll(filepath.Join(dir, "appendonlydir")); err != nil {
		return errors.Join(err, d.start(ctx, a.Name))
	}
	if err := os.Rename(staged, filepath.Join(dir, "dump.rdb")); err != nil {
		return errors.Join(err, d.start(ctx, a.Name))
	}
	if err := d.loadRDB(ctx, a.Name, port, pw); err != nil {
		d.cfg.Host.Supervisor.Stop(name)
		return errors.Join(fmt.Errorf("restore redis: %w", err), d.start(ctx, a.Name))
	}
	d.cfg.Host.Supervisor.Stop(name)
	return d.start(ctx, a.Name)
}

// loadRDB starts the instance with the AOF off, so that it loads
// dump.rdb, then turns the AOF on and waits for it to be written.
func (d *Driver) loadRDB(ctx context.Context, name string, port int, pw string) error {
	server, err := d.bin("redis-server")
	if err != nil {
		return err
	}
	dir := d.instance(name)
	err = d.cfg.Host.Supervisor.Start(ctx, supervisor.Spec{
		Name: Kind + "/" + name, Path: server, Args: []string{filepath.Join(dir, "redis.conf"), "--appendonly", "no"},
		Credential: d.cfg.Host.Credential(), PIDFile: filepath.Join(dir, "redis.pid"), Log: filepath.Join(dir, "redis.log"),
		Ready: func(ctx context.Context) error {
			_, err := Do(ctx, port, pw, "PING")
			return err
		},
	})
	if err != nil {
		return err
	}
	if _, err := Do(ctx, port, pw, "CONFIG", "SET", "appendonly", "yes"); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		info, err := Do(ctx, port, pw, "INFO", "persistence")
		if err != nil {
			return err
		}
		if infoField(info, "aof_enabled") == "1" && infoField(info, "aof_rewrite_in_progress") == "0" && infoField(info, "aof_rewrite_scheduled") == "0" {
			if infoField(info, "aof_last_bgrewrite_status") != "ok" {
				return errors.New("the AOF rewrite failed: see redis.log")
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("the AOF rewrite did not end within 5 minutes")
}

func infoField(info, k string) string {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, k+":"); ok {
			return v
		}
	}
	return ""
}
