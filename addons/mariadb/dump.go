package mariadb

import (
	"context"
	"io"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/addons"
)

var _ addons.Dumper = (*Driver)(nil)

// tool is the argv of a client tool connected to a as its user, and the
// environment holding its password.
func (d *Driver) tool(name string, a nua.Addon, args ...string) ([]string, []string, error) {
	e, err := addons.ParseURL(a.URL)
	if err != nil {
		return nil, nil, err
	}
	bin, err := d.bin(name)
	if err != nil {
		return nil, nil, err
	}
	argv := append([]string{bin, "--no-defaults", "-h", e.Host, "-P", e.Port, "-u", e.User}, args...)
	return append(argv, e.Database), []string{"MYSQL_PWD=" + e.Password}, nil
}

// Dump implements addons.Dumper: mariadb-dump in one consistent
// snapshot, with routines and triggers, each table dropped before it is
// made again.
func (d *Driver) Dump(ctx context.Context, a nua.Addon, w io.Writer) error {
	argv, env, err := d.tool("mariadb-dump", a, "--single-transaction", "--routines", "--triggers", "--no-tablespaces", "--add-drop-table")
	if err != nil {
		return err
	}
	return addons.RunTool(ctx, argv, env, nil, w)
}

// Restore implements addons.Dumper: the dump through the mariadb client,
// stopping at the first error.
func (d *Driver) Restore(ctx context.Context, a nua.Addon, r io.Reader) error {
	argv, env, err := d.tool("mariadb", a, "--batch")
	if err != nil {
		return err
	}
	return addons.RunTool(ctx, argv, env, r, io.Discard)
}
