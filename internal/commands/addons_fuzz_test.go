package commands_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/appname"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/receiver"
	"github.com/nua-paas/nua/store"
)

// recordingAddons is an addon service that records what it was asked to
// make and delete.
type recordingAddons struct {
	mu   sync.Mutex
	made map[string]string // name → kind
}

func (r *recordingAddons) Provision(ctx context.Context, kind, name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.made[name] = kind
	return "x://" + name, nil
}

func (r *recordingAddons) Deprovision(ctx context.Context, kind, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.made, name)
	return nil
}

func (r *recordingAddons) Info(context.Context, nua.Addon) ([][2]string, error) { return nil, nil }
func (r *recordingAddons) Client(nua.Addon) ([]string, map[string]string, error) {
	return []string{"true"}, nil, nil
}

// FuzzAddonArgs sends addon commands with arbitrary kinds, names and
// attachment names through the command tree to a real platform and store:
// a refused one makes nothing; an accepted one makes an addon of a known
// kind, with a valid name, whose config var is a valid NAME_URL.
func FuzzAddonArgs(f *testing.F) {
	for _, s := range [][3]string{
		{"postgres", "", ""}, {"heroku-postgresql:mini", "db", "MAIN"}, {"redis", "cache", "redis"},
		{"mariadb", "my-db", "MARIA_DB"}, {"oracle", "x", ""}, {"postgres", "Bad", ""}, {"redis", "a-", "X_URL"},
		{"", "", ""}, {"pg", "../x", "A B"}, {"jawsdb-maria", "x;rm", "$(x)"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, kind, name, as string) {
		data := t.TempDir()
		db, err := store.Open(filepath.Join(data, "nua.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		svc := &recordingAddons{made: map[string]string{}}
		recv := receiver.New(receiver.Config{ReposDir: filepath.Join(data, "repos"), Hook: []string{"/bin/false"}})
		p := nua.New(nua.Config{DataDir: data, Domain: "example.test", Store: db, Repos: repos{recv}, Addons: svc})
		if _, err := p.CreateApp("web", "admin"); err != nil {
			t.Fatal(err)
		}
		args := []string{"addons:create", "web", kind}
		if name != "" {
			args = append(args, "--name", name)
		}
		if as != "" {
			args = append(args, "--as", as)
		}
		var out bytes.Buffer
		o := commands.Options{Door: commands.Socket, Platform: p, Who: nua.Identity{User: "admin", Admin: true, Door: nua.DoorSocket},
			Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out}
		code := commands.Run(context.Background(), o, args)
		list, err := p.Addons("")
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 {
			if len(list) != 0 || len(svc.made) != 0 {
				t.Fatalf("%q: refused (%s) but made %v", args, out.String(), svc.made)
			}
			return
		}
		if len(list) != 1 || len(svc.made) != 1 {
			t.Fatalf("%q: made %v, records %v", args, svc.made, list)
		}
		a := list[0]
		if _, err := nua.ParseAddonKind(a.Kind); err != nil || !appname.Valid(a.Name) || svc.made[a.Name] != a.Kind {
			t.Fatalf("%q: made %+v", args, a)
		}
		app, _ := p.App("web")
		v := a.Attachments[0].Var()
		if app.Config[v] != a.URL || nua.ValidateConfigKey(v) != nil {
			t.Fatalf("%q: config %v, attachment var %q", args, app.Config, v)
		}
		if code := commands.Run(context.Background(), o, []string{"addons:destroy", a.Name, "--confirm", a.Name}); code != 0 || len(svc.made) != 0 {
			t.Fatalf("destroy %s: exit %d, left %v\n%s", a.Name, code, svc.made, out.String())
		}
	})
}
