package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/backup"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/store"
)

// serverRestoreCommand unpacks a server backup into a fresh data dir; the
// daemon started on it then rebuilds every app from its backup.
func serverRestoreCommand() *cli.Command {
	return &cli.Command{
		Name: "server:restore", Usage: "restore a server backup into a fresh data dir; `nua server` then rebuilds every app",
		ArgsUsage: "FILE --key KEYFILE",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "key", Usage: "a copy of the old server's DATA/backup/key.txt", Required: true}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("%w: usage: nua server:restore FILE --key KEYFILE", nua.ErrInvalid)
			}
			data, err := filepath.Abs(commands.DataDir(c))
			if err != nil {
				return err
			}
			f, err := os.Open(c.Args().First())
			if err != nil {
				return err
			}
			defer f.Close()
			apps, err := backup.UnpackServer(f, c.String("key"), data)
			if err != nil {
				return err
			}
			pending, err := forgetApps(data, apps, c.App.Writer)
			if err != nil {
				return err
			}
			if err := backup.WritePending(data, pending); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "-----> Restored the server's state into %s; start `nua server --data %s` to rebuild its %d apps from their backups\n", data, data, len(pending))
			return nil
		},
	}
}

// forgetApps removes the apps and addons from the restored state, to be
// made anew from their backups, and returns them with their owners.
func forgetApps(data string, apps map[string]string, w io.Writer) ([]backup.Pending, error) {
	db, err := store.Open(filepath.Join(data, "nua.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out []backup.Pending
	all, err := db.Apps()
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		id, ok := apps[a.Name]
		if ok {
			acc, err := db.Access(a.Name)
			if err != nil && !errors.Is(err, nua.ErrNotFound) {
				return nil, err
			}
			out = append(out, backup.Pending{App: a.Name, ID: id, Owner: acc.Owner})
		} else {
			// Made while the server backup ran (a drill's scratch app):
			// nothing of it is in the backup.
			fmt.Fprintf(w, "       %s has no backup in the server backup: left out\n", a.Name)
		}
		if err := db.DeleteApp(a.Name); err != nil {
			return nil, err
		}
	}
	addons, err := db.Addons()
	if err != nil {
		return nil, err
	}
	for _, a := range addons {
		if err := db.DeleteAddon(a.Name); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b backup.Pending) int { return strings.Compare(a.App, b.App) })
	return out, nil
}
