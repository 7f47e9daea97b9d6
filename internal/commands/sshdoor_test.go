package commands_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/proxy"
	"github.com/nua-paas/nua/receiver"
	nuaruntime "github.com/nua-paas/nua/runtime"
	"github.com/nua-paas/nua/sshd"
	"github.com/nua-paas/nua/store"
	gossh "golang.org/x/crypto/ssh"
)

// commandTimeout bounds one fuzzed command: `logs -t` follows until its
// client goes, and the fuzzer's client waits for the exit status.
const commandTimeout = time.Second

// doorRig is a real Platform behind a real SSH server, as `nua server`
// wires them but for Traefik (its route files only) and the sandbox (off).
type doorRig struct {
	mu      sync.Mutex
	p       *nua.Platform
	data    string
	args    []string // the last command line the tree got
	gitRepo string   // the last repository a git request named
	client  *gossh.Client
}

func newDoorRig(f *testing.F) *doorRig {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		f.Fatal(err)
	}
	r := &doorRig{}
	srv := sshd.New(sshd.Config{
		Addr: "127.0.0.1:0", HostKey: filepath.Join(f.TempDir(), "host_key"),
		Authorize: func(k gossh.PublicKey) (string, bool) {
			return "fuzzer", string(k.Marshal()) == string(key.PublicKey().Marshal())
		},
		Command: func(ctx context.Context, s sshd.Session) int {
			r.mu.Lock()
			p := r.p
			r.args = s.Args
			r.mu.Unlock()
			ctx, cancel := context.WithTimeout(ctx, commandTimeout)
			defer cancel()
			o := commands.Options{Door: commands.SSH, Platform: p, Who: nua.Identity{User: "admin", Admin: true, Key: s.User, Door: nua.DoorSSH}, Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr}
			return commands.Run(ctx, o, s.Args)
		},
		Git: func(ctx context.Context, s sshd.Session, service, repo string) int {
			r.mu.Lock()
			p := r.p
			r.gitRepo = repo
			r.mu.Unlock()
			if err := p.Git(ctx, service, repo, nua.Identity{User: "admin", Admin: true, Key: s.User, Door: nua.DoorSSH}, nua.Stdio{Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr}); err != nil {
				return 1
			}
			return 0
		},
	})
	if err := srv.Open(); err != nil {
		f.Fatal(err)
	}
	go srv.Serve()
	f.Cleanup(func() { srv.Close(context.Background()) })
	r.client, err = gossh.Dial("tcp", srv.Addr().String(), &gossh.ClientConfig{
		User: "nua", Auth: []gossh.AuthMethod{gossh.PublicKeys(key)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.client.Close() })
	return r
}

// reset gives the server a fresh platform in a fresh data dir, with an
// app "web" and a config var, so that each input starts from the same
// state.
func (r *doorRig) reset(t *testing.T) {
	data := t.TempDir()
	db, err := store.Open(filepath.Join(data, "nua.db"))
	if err != nil {
		t.Fatal(err)
	}
	px := proxy.New(proxy.Config{Dir: filepath.Join(data, "traefik"), External: true})
	if err := px.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	procs := procman.New(procman.Config{LogDir: filepath.Join(data, "logs")})
	rt := nuaruntime.New(nuaruntime.Config{DataDir: data, Builder: buildpacks.New(nil), Procs: procs, Router: px})
	recv := receiver.New(receiver.Config{ReposDir: filepath.Join(data, "repos"), Hook: []string{"/bin/false"}})
	p := nua.New(nua.Config{DataDir: data, Domain: "example.test", Store: db, Builder: rt, Runner: rt, Monitor: rt, Repos: repos{recv}})
	if _, err := p.CreateApp("web", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := p.SetConfig(context.Background(), "web", map[string]string{"GREETING": "hi"}, nil, "fuzzer", io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close(context.Background())
		procs.Close(context.Background())
		db.Close()
	})
	r.mu.Lock()
	r.p, r.data, r.args, r.gitRepo = p, data, nil, ""
	r.mu.Unlock()
}

// run sends line as an SSH exec request and returns the exit status.
func (r *doorRig) run(line string) (int, error) {
	sess, err := r.client.NewSession()
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	err = sess.Run(line)
	var exit *gossh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitStatus(), nil
	}
	return 0, err
}

var repoNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}\.git$`)

// FuzzSSHDoor sends arbitrary command lines through the SSH door to a
// real platform: every line gets an exit status and never panics the
// server; nothing reaches a shell (the shell lines of the corpus would
// leave a file in the canary dir); a line that succeeds names a command
// of the tree; repositories are made only for valid app names, in the
// repos dir.
func FuzzSSHDoor(f *testing.F) {
	canary := f.TempDir()
	for _, s := range []string{
		"apps", "version", "help", "apps:info web", "config web", "config:get web GREETING",
		"config:set web A=1 'B=x y'", "config:unset web GREETING", "ps web", "ps:scale web web=2",
		"ps:restart web", "ps:stop web", "releases web", "rollback web v1", "logs web -n 5 -p web",
		"run web ls", "apps:create other", "apps:destroy web --confirm web", "keys", "keys:add x",
		"tokens", "tokens:create --expires 30d --name ci", "tokens:revoke tok_000000000000",
		"resources web", "doctor", "hook:pre-receive --repo /tmp --user root", "hook pre-receive",
		"git-receive-pack 'web.git'", "git-upload-pack '/web.git'", "git-receive-pack '../etc/x.git'",
		"git-upload-pack 'web.git' extra", "'unclosed", `apps \`, "--help", "-h", "", "--", "-",
		"apps; touch " + canary + "/semicolon", "$(touch " + canary + "/dollar)",
		"`touch " + canary + "/backtick`", "apps | touch " + canary + "/pipe",
		"apps && touch " + canary + "/and", "/bin/sh -c 'touch " + canary + "/sh'",
		"../../bin/sh -c \"touch " + canary + "/dotdot\"", "run web sh -c 'touch " + canary + "/run'",
		"config:set web 'X=$(touch " + canary + "/config)'", "apps:create '$(touch " + canary + "/app)'",
	} {
		f.Add(s)
	}
	r := newDoorRig(f)
	tree := commands.New(commands.Options{Door: commands.SSH})
	tree.Setup() // adds help
	f.Fuzz(func(t *testing.T, line string) {
		r.reset(t)
		code, err := r.run(line)
		if err != nil {
			t.Fatalf("%q: no exit status: %v", line, err)
		}
		if left, _ := os.ReadDir(canary); len(left) > 0 {
			t.Fatalf("%q reached a shell: it made %s", line, left[0].Name())
		}
		r.mu.Lock()
		args, repo := r.args, r.gitRepo
		r.mu.Unlock()
		if code == 0 && repo == "" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			if tree.Command(args[0]) == nil {
				t.Fatalf("%q succeeded running %q, which is no command", line, args[0])
			}
		}
		repos, _ := os.ReadDir(filepath.Join(r.data, "repos"))
		for _, e := range repos {
			if !repoNameRE.MatchString(e.Name()) {
				t.Fatalf("%q made repository %q", line, e.Name())
			}
		}
	})
}

// repos is a receiver as the root package's Repos, as cmd/nua wires it.
type repos struct{ *receiver.Receiver }

func (r repos) ReceivePack(ctx context.Context, app string, env []string, s nua.Stdio) error {
	return r.Receiver.ReceivePack(ctx, app, env, receiver.Stdio(s))
}

func (r repos) UploadPack(ctx context.Context, app string, s nua.Stdio) error {
	return r.Receiver.UploadPack(ctx, app, receiver.Stdio(s))
}

func (r repos) Export(ctx context.Context, app, commit string, q nua.Quarantine, dst string) error {
	return r.Receiver.Export(ctx, app, commit, receiver.Quarantine(q), dst)
}
