package nua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/nua-paas/nua/internal/buildout"
)

// Repos keeps each app's git repository and serves git sessions on it.
// The receiver package implements it.
type Repos interface {
	// Init creates the app's bare repository, with branch as its default
	// branch, unless it exists.
	Init(app, branch string) error
	// Remove deletes the app's repository.
	Remove(app string) error
	// SetHead points the repository's HEAD at branch, so clones check it
	// out.
	SetHead(app, branch string) error
	// Repo returns the path of the app's repository.
	Repo(app string) string
	// ReceivePack serves a push into the app's repository; env is added to
	// the environment of its hooks.
	ReceivePack(ctx context.Context, app string, env []string, s Stdio) error
	// UploadPack serves a clone or a fetch of the app's repository.
	UploadPack(ctx context.Context, app string, s Stdio) error
	// Export writes the tree of commit into dst, an empty directory,
	// reading objects from q while a push is in quarantine.
	Export(ctx context.Context, app, commit string, q Quarantine, dst string) error
}

// Stdio is the client's side of a git session.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Quarantine names where a push's objects are while pre-receive runs: git
// keeps them out of the repository until the hook accepts them.
type Quarantine struct {
	ObjectDir  string // GIT_OBJECT_DIRECTORY of the hook
	Alternates string // GIT_ALTERNATE_OBJECT_DIRECTORIES of the hook
}

// RefUpdate is one ref update of a push, as git gives it to pre-receive.
type RefUpdate struct {
	Old, New, Ref string
}

// ZeroID is the object id git uses for a ref that does not exist.
const ZeroID = "0000000000000000000000000000000000000000"

// deployBranches are the branches a first push may deploy.
var deployBranches = []string{"main", "master"}

// AppFromRepo turns the repository path a git client asks for ("/app",
// "app.git", "~/app") into an app name.
func AppFromRepo(repo string) (string, error) {
	name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(repo, "~"), "/"), ".git")
	if err := ValidateAppName(name); err != nil {
		return "", fmt.Errorf("repository %q: %w", clip(repo), err)
	}
	return name, nil
}

// Git serves a git-receive-pack (push) or git-upload-pack (clone, fetch)
// session by who for an existing app; the caller checked who may. The
// push's hook learns who pushes from Pusher.
func (p *Platform) Git(ctx context.Context, service, name string, who Identity, s Stdio) error {
	app, err := p.App(name)
	if err != nil {
		return err
	}
	switch service {
	case "git-upload-pack":
		return p.cfg.Repos.UploadPack(ctx, name, s)
	case "git-receive-pack":
		if err := p.cfg.Repos.Init(name, or(app.Branch, "main")); err != nil {
			return err
		}
		token, end := p.pushes.start(name, who)
		defer end()
		return p.cfg.Repos.ReceivePack(ctx, name, []string{"NUA_PUSH=" + token}, s)
	}
	return fmt.Errorf("%w: git service %q", ErrInvalid, service)
}

// Push is what the pre-receive hook hands over: the ref updates of a push
// and where git holds its objects until the hook accepts them.
type Push struct {
	App        string
	By         string
	Updates    []RefUpdate
	Quarantine Quarantine
	// MaxScale caps the instances of one process type app.json's
	// formation may ask for; 0 means DefaultMaxScale.
	MaxScale int
}

// Receive checks a push's ref updates and deploys the deploy branch's new
// commit. An error declines the whole push.
func (p *Platform) Receive(ctx context.Context, push Push, out io.Writer) error {
	app, err := p.App(push.App)
	if err != nil {
		return err
	}
	o := buildout.NewOutput(out)
	if len(push.Updates) != 1 {
		return fmt.Errorf("push one branch at a time: nua deploys %s", or(app.Branch, "main"))
	}
	up := push.Updates[0]
	branch, ok := strings.CutPrefix(up.Ref, "refs/heads/")
	if !ok || !p.deploys(app, branch) {
		want := or(app.Branch, "main")
		o.Warn("nua deploys the %s branch of %s only; %s was not pushed.", want, app.Name, up.Ref)
		o.Warn("Push your branch there: git push nua %s:%s", strings.TrimPrefix(up.Ref, "refs/heads/"), want)
		return fmt.Errorf("%s is not the deploy branch", up.Ref)
	}
	if up.New == ZeroID {
		return fmt.Errorf("the deploy branch %s cannot be deleted: use apps:destroy to remove the app", branch)
	}
	err = p.Deploy(ctx, DeployRequest{
		App: app.Name, Commit: up.New, By: push.By,
		Source: func(dir string) error {
			if err := p.cfg.Repos.Export(ctx, app.Name, up.New, push.Quarantine, dir); err != nil {
				return err
			}
			return checkPushed(dir, push.MaxScale)
		},
	}, out)
	if err != nil {
		return err
	}
	if app.Branch == "" {
		return p.setBranch(app.Name, branch)
	}
	return nil
}

// checkPushed refuses, before anything is built, a pushed tree in dir
// whose app.json asks for more instances than maxScale allows.
func checkPushed(dir string, maxScale int) error {
	if maxScale <= 0 {
		maxScale = DefaultMaxScale
	}
	m, err := ReadAppJSON(dir)
	if err != nil {
		return err
	}
	return m.CheckScale(maxScale)
}

// deploys reports whether a push to branch deploys app.
func (p *Platform) deploys(app App, branch string) bool {
	if app.Branch != "" {
		return branch == app.Branch
	}
	for _, b := range deployBranches {
		if b == branch {
			return true
		}
	}
	return false
}

// setBranch records the deploy branch a first push chose.
func (p *Platform) setBranch(name, branch string) error {
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return err
	}
	defer unlock()
	app.Branch = branch
	if err := p.cfg.Store.PutApp(app); err != nil {
		return err
	}
	if err := p.cfg.Repos.SetHead(name, branch); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AppFromRepoDir returns the app whose repository is dir, the directory a
// git hook runs in.
func (p *Platform) AppFromRepoDir(dir string) (string, error) {
	app := strings.TrimSuffix(filepath.Base(dir), ".git")
	if ValidateAppName(app) != nil || p.cfg.Repos.Repo(app) != filepath.Clean(dir) {
		return "", fmt.Errorf("%w: %q is not an app repository", ErrInvalid, clip(dir))
	}
	return app, nil
}
