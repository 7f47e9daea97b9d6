package postgres

import (
	"context"
	"io"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/addons"
)

var _ addons.Dumper = (*Driver)(nil)

// clientEnv is the environment that connects a client to a as its role,
// over TLS.
func clientEnv(a nua.Addon) ([]string, error) {
	e, err := addons.ParseURL(a.URL)
	if err != nil {
		return nil, err
	}
	return []string{"PGHOST=" + e.Host, "PGPORT=" + e.Port, "PGUSER=" + e.User, "PGPASSWORD=" + e.Password,
		"PGDATABASE=" + e.Database, "PGSSLMODE=require", "PGCONNECT_TIMEOUT=5"}, nil
}

// Dump implements addons.Dumper: pg_dump's custom format, as the addon's
// role, leaving out owners and grants so that it loads into another
// addon too.
func (d *Driver) Dump(ctx context.Context, a nua.Addon, w io.Writer) error {
	bin, err := d.bin("pg_dump")
	if err != nil {
		return err
	}
	env, err := clientEnv(a)
	if err != nil {
		return err
	}
	return addons.RunTool(ctx, []string{bin, "-Fc", "--no-owner", "--no-acl"}, env, nil, w)
}

// Restore implements addons.Dumper: pg_restore --clean --if-exists in
// one transaction, so that a dump that does not load leaves the data as
// it was.
func (d *Driver) Restore(ctx context.Context, a nua.Addon, r io.Reader) error {
	bin, err := d.bin("pg_restore")
	if err != nil {
		return err
	}
	env, err := clientEnv(a)
	if err != nil {
		return err
	}
	e, err := addons.ParseURL(a.URL)
	if err != nil {
		return err
	}
	return addons.RunTool(ctx, []string{bin, "--clean", "--if-exists", "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error", "-d", e.Database}, env, r, io.Discard)
}
