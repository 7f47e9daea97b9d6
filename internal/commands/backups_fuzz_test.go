package commands_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/backup"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/receiver"
	"github.com/nua-paas/nua/store"
)

// FuzzBackupTargetsAdd sends backups:targets:add with arbitrary names,
// bucket URLs, endpoints, keys and secrets through the command tree to a
// real store: a refused one keeps nothing; an accepted one has a valid
// name and an s3:// URL; the secret key never shows in any output.
func FuzzBackupTargetsAdd(f *testing.F) {
	for _, s := range [][5]string{
		{"offsite", "s3://nua-backups/prod", "https://s3.example.org", "AKIA1", "secret1"},
		{"m", "s3://bucket", "http://127.0.0.1:9000", "k", "s"},
		{"local", "s3://bucket", "http://127.0.0.1:9000", "k", "s"},
		{"Bad_Name", "s3://bucket", "http://127.0.0.1:9000", "k", "s"},
		{"x", "http://bucket", "http://127.0.0.1:9000", "k", "s"},
		{"x", "s3://bucket/../etc", "http://h", "k", "s"},
		{"x", "s3://b", "ftp://h", "k", ""},
		{"x", "s3://bucket", "http://user:pw@h", "k", "s\nmore"},
		{"", "", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	const marker = "~sek~"
	f.Fuzz(func(t *testing.T, name, url, endpoint, access, secret string) {
		data := t.TempDir()
		db, err := store.Open(filepath.Join(data, "nua.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		recv := receiver.New(receiver.Config{ReposDir: filepath.Join(data, "repos"), Hook: []string{"/bin/false"}})
		p := nua.New(nua.Config{DataDir: data, Domain: "example.test", Store: db, Repos: repos{recv}})
		bk := backup.New(backup.Config{Platform: p})
		run := func(stdin string, args ...string) (int, string) {
			var out bytes.Buffer
			o := commands.Options{Door: commands.Socket, Platform: p, Backups: bk, Who: nua.Identity{User: "admin", Admin: true, Door: nua.DoorSocket},
				Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out}
			return commands.Run(context.Background(), o, args), out.String()
		}
		code, out := run(marker+secret+"\n", "backups:targets:add", name, url, "--endpoint", endpoint, "--access-key", access, "--no-check")
		ts, err := db.BackupTargets()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case code != 0 && len(ts) != 0:
			t.Fatalf("refused (exit %d) yet kept %+v:\n%s", code, ts, out)
		case code == 0 && (len(ts) != 1 || nua.ValidateTargetName(ts[0].Name) != nil || !strings.HasPrefix(ts[0].URL, "s3://")):
			t.Fatalf("accepted %+v:\n%s", ts, out)
		}
		_, list := run("", "backups:targets")
		_, events := run("", "events")
		if !strings.Contains(name+url+endpoint+access, marker) {
			for _, o := range []string{out, list, events} {
				if strings.Contains(o, marker) {
					t.Fatalf("the secret key shows:\n%s", o)
				}
			}
		}
	})
}
