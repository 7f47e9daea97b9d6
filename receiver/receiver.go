// Package receiver serves git pushes: one bare repository per app, the
// system git-receive-pack speaking to the pusher, and a pre-receive hook that
// hands the pushed commit to the deploy pipeline. A failed deploy makes the
// hook fail, so git declines the push and the branch keeps its old commit.
package receiver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/nua-paas/nua/internal/bytesize"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/nua-paas/nua/internal/excerpt"
)

// Config configures a Receiver.
type Config struct {
	// ReposDir holds one bare repository per app, APP.git.
	ReposDir string
	// Hook is the command line the pre-receive hook runs (the nua binary and
	// its arguments); the hook's stdin and environment are passed on to it.
	Hook []string
	// Logger gets one line per push; nil discards.
	Logger *slog.Logger
	// MaxPushSize caps what a push sends (the pack and its commands), in
	// bytes, counted as git-receive-pack reads it: past it the push
	// fails and git never gets the whole pack. 0 = DefaultMaxPushSize.
	MaxPushSize int64
}

// Receiver runs git's receive-pack for app repositories, one push per app at
// a time.
type Receiver struct {
	cfg   Config
	log   *slog.Logger
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// New returns a Receiver for cfg.
func New(cfg Config) *Receiver {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxPushSize <= 0 {
		cfg.MaxPushSize = DefaultMaxPushSize
	}
	return &Receiver{cfg: cfg, log: log, locks: map[string]*sync.Mutex{}}
}

// Repo returns the path of app's bare repository.
func (r *Receiver) Repo(app string) string {
	return filepath.Join(r.cfg.ReposDir, app+".git")
}

// Init creates app's bare repository unless it exists and (re)writes its
// pre-receive hook, so the hook always names the running nua binary.
func (r *Receiver) Init(app, branch string) error {
	repo := r.Repo(app)
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); errors.Is(err, os.ErrNotExist) {
		_, err := git.PlainInitWithOptions(repo, &git.PlainInitOptions{
			Bare:        true,
			InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)},
		})
		if err != nil && !errors.Is(err, git.ErrRepositoryAlreadyExists) { // a racing first push made it
			return fmt.Errorf("create repository: %w", err)
		}
	}
	script, err := hookScript(r.cfg.Hook)
	if err != nil {
		return err
	}
	hooks := filepath.Join(repo, "hooks")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		return fmt.Errorf("create hooks: %w", err)
	}
	return writeExecutable(filepath.Join(hooks, "pre-receive"), script)
}

// writeExecutable replaces path with an executable file holding content,
// atomically, so a racing push runs either the old hook or the new one.
func writeExecutable(path, content string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".hook-*")
	if err != nil {
		return fmt.Errorf("write hook: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o755)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write hook: %w", err)
	}
	return nil
}

// hookScript returns a shell script that execs argv. The arguments are nua's
// own paths, not user input; they are single-quoted all the same.
func hookScript(argv []string) (string, error) {
	if len(argv) == 0 {
		return "", errors.New("write hook: no hook command configured")
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by nua: hands each push to the deploy pipeline.\nexec")
	for _, a := range argv {
		if strings.ContainsAny(a, "'\n\x00") {
			return "", fmt.Errorf("write hook: argument %q cannot be quoted", a)
		}
		b.WriteString(" '" + a + "'")
	}
	b.WriteString("\n")
	return b.String(), nil
}

// SetHead points the repository's HEAD at branch, so clones check it out.
func (r *Receiver) SetHead(app, branch string) error {
	repo, err := git.PlainOpen(r.Repo(app))
	if err != nil {
		return fmt.Errorf("open repository: %w", err)
	}
	ref := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch))
	return repo.Storer.SetReference(ref)
}

// Remove deletes app's repository.
func (r *Receiver) Remove(app string) error {
	return os.RemoveAll(r.Repo(app))
}

// Stdio is the pusher's side of a git session.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// ReceivePack runs git-receive-pack for app with the pusher's streams. Pushes
// to one app are served one at a time: a second pusher waits, then sees the
// first one's result as the branch's current commit. env is added to the
// hook's environment.
func (r *Receiver) ReceivePack(ctx context.Context, app string, env []string, s Stdio) error {
	lock := r.lock(app)
	if !lock.TryLock() {
		fmt.Fprintf(s.Stderr, "-----> Waiting for another push to %s to finish\n", app)
		lock.Lock()
	}
	defer lock.Unlock()
	r.log.Info("receive-pack", "app", app)
	in := newCapReader(s.Stdin, r.cfg.MaxPushSize)
	err := r.run(ctx, "git-receive-pack", app, env, Stdio{Stdin: in, Stdout: s.Stdout, Stderr: s.Stderr})
	if in.over.Load() {
		r.log.Warn("push over the cap", "app", app, "max", r.cfg.MaxPushSize)
		return fmt.Errorf("%w: the push sent more than %s, this server's cap (nua server --max-push-size), and was refused; nothing was deployed: keep large files out of git, or ask the operator to raise the cap",
			ErrPushTooLarge, bytesize.Format(r.cfg.MaxPushSize))
	}
	return err
}

// UploadPack runs git-upload-pack for app, for clones and fetches.
func (r *Receiver) UploadPack(ctx context.Context, app string, s Stdio) error {
	return r.run(ctx, "git-upload-pack", app, nil, s)
}

func (r *Receiver) run(ctx context.Context, prog, app string, env []string, s Stdio) error {
	cmd := exec.CommandContext(ctx, prog, r.Repo(app))
	cmd.Env = append(gitFreeEnv(), env...)
	cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
	// exec would wait for a copy from Stdin to finish, and the pusher keeps
	// the channel open until it has the exit status: copy by hand instead.
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", prog, err)
	}
	go func() {
		io.Copy(in, s.Stdin)
		in.Close()
	}()
	err = cmd.Wait()
	in.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", prog, err)
	}
	return nil
}

// gitFreeEnv is the daemon's environment without variables that would steer
// git somewhere else.
func gitFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return env
}

func (r *Receiver) lock(app string) *sync.Mutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.locks[app]
	if !ok {
		l = &sync.Mutex{}
		r.locks[app] = l
	}
	return l
}

// Update is one ref update of a push, as git gives it to pre-receive.
type Update struct {
	Old, New, Ref string
}

// ZeroID is the object id git uses for a ref that does not exist.
const ZeroID = "0000000000000000000000000000000000000000"

var (
	oidRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
	// refRE is deliberately narrower than git's rules: nua deploys branches only.
	refRE = regexp.MustCompile(`^refs/[A-Za-z0-9._/-]{1,200}$`)
)

// ParseUpdates reads pre-receive's input: one "old new ref" line per ref.
func ParseUpdates(r io.Reader) ([]Update, error) {
	var ups []Update
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || !oidRE.MatchString(f[0]) || !oidRE.MatchString(f[1]) || !refRE.MatchString(f[2]) || strings.Contains(f[2], "..") {
			return nil, fmt.Errorf("pre-receive: malformed ref update %q", excerpt.Of(sc.Text()))
		}
		ups = append(ups, Update{Old: f[0], New: f[1], Ref: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pre-receive: %w", err)
	}
	return ups, nil
}
