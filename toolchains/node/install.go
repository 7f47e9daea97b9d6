package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
	"github.com/nua-paas/nua/toolchains/internal/treecache"
)

// maxLockfile bounds the lockfile the toolchain hashes.
const maxLockfile = 256 << 20

// manager is a package manager, chosen by the lockfile the app has.
type manager struct {
	name      string   // command: npm, yarn or pnpm
	lockfiles []string // the lockfiles that select it
	install   []string // arguments of the install from the lockfile
	unlocked  []string // arguments of an install without one
	getIt     string   // how to install the manager itself
	cacheVar  string   // environment variable naming its download cache
	cacheDir  string   // that cache's dir in the app's build cache
	engine    func(engines) string
}

// managers lists the package managers in the order lockfiles are looked
// for.
func managers() []manager {
	return []manager{
		{
			name: "npm", lockfiles: []string{"package-lock.json", "npm-shrinkwrap.json"},
			install:  []string{"ci", "--no-audit", "--no-fund", "--prefer-offline"},
			unlocked: []string{"install", "--no-audit", "--no-fund"},
			getIt:    "apt-get install npm", cacheVar: "npm_config_cache", cacheDir: "npm",
			engine: func(e engines) string { return e.Npm },
		},
		{
			name: "yarn", lockfiles: []string{"yarn.lock"},
			install:  []string{"install", "--frozen-lockfile", "--non-interactive"},
			unlocked: []string{"install", "--non-interactive"},
			getIt:    "npm install -g yarn, or corepack enable yarn", cacheVar: "YARN_CACHE_FOLDER", cacheDir: "yarn",
			engine: func(e engines) string { return e.Yarn },
		},
		{
			name: "pnpm", lockfiles: []string{"pnpm-lock.yaml"},
			install:  []string{"install", "--frozen-lockfile"},
			unlocked: []string{"install"},
			getIt:    "npm install -g pnpm, or corepack enable pnpm", cacheVar: "npm_config_store_dir", cacheDir: "pnpm-store",
			engine: func(e engines) string { return e.Pnpm },
		},
	}
}

// chooseManager returns the package manager of the app's lockfile and the
// lockfile's name; with no lockfile, the one packageManager names, else
// npm, and "". Lockfiles of two managers are an error: the build would not
// be the one the developer ran.
func chooseManager(src string, p pkg) (manager, string, error) {
	type hit struct {
		m    manager
		lock string
	}
	var hits []hit
	for _, m := range managers() {
		for _, name := range m.lockfiles {
			ok, err := srcfile.Exists(src, name)
			if err != nil {
				return manager{}, "", err
			}
			if ok {
				hits = append(hits, hit{m, name})
				break
			}
		}
	}
	switch len(hits) {
	case 0:
		for _, m := range managers() {
			if p.managerVersion(m.name) != "" {
				return m, "", nil
			}
		}
		return managers()[0], "", nil
	case 1:
		return hits[0].m, hits[0].lock, nil
	}
	var names []string
	for _, h := range hits {
		names = append(names, h.lock)
	}
	return manager{}, "", fmt.Errorf("lockfiles of several package managers found (%s): keep the one of the package manager you use and delete the others",
		strings.Join(names, ", "))
}

// findManager returns the path of package manager m: the server's, when
// it is on PATH, node is the server's too, and it is the version
// package.json asks for; else one from the runtime cache.
func (t *Toolchain) findManager(ctx context.Context, b *buildpacks.Build, m manager, lock string, p pkg, node nodeRuntime, env []string) (string, error) {
	path, err := hostManager(ctx, m, lock, p, env)
	if err == nil && !node.provided {
		return path, nil
	}
	if t.Runtimes == nil {
		return "", err
	}
	return t.provideManager(ctx, b, m, p, node)
}

// hostManager looks m up on PATH and checks its version against the
// engines and packageManager fields of package.json.
func hostManager(ctx context.Context, m manager, lock string, p pkg, env []string) (string, error) {
	path, err := exec.LookPath(m.name)
	if err != nil {
		if lock == "" {
			return "", fmt.Errorf("%s not found on PATH: install it (%s)", m.name, m.getIt)
		}
		return "", fmt.Errorf("%s found but %s is not installed on the server: install it (%s), or commit the lockfile of a package manager the server has",
			lock, m.name, m.getIt)
	}
	for _, want := range []struct{ field, version string }{
		{"engines." + m.name + " in package.json", m.engine(p.Engines)},
		{"packageManager in package.json", p.managerVersion(m.name)},
	} {
		if want.version == "" {
			continue
		}
		v, err := toolVersion(ctx, path, env)
		if err != nil {
			return "", err
		}
		if err := checkRange(m.name, want.field, want.version, v); err != nil {
			return "", err
		}
	}
	return path, nil
}

// install puts the app's dependencies into node_modules: restored from the
// build cache when the lockfile and what else decides the install are
// unchanged since a build that saved them, installed by the package manager
// otherwise.
func install(ctx context.Context, b *buildpacks.Build, m manager, mPath, lock string, p pkg, node *semver.Version, env []string) error {
	b.Out.Step("Installing dependencies")
	nm := filepath.Join(b.Src, "node_modules")
	if _, err := os.Lstat(nm); err == nil {
		b.Out.Warn("node_modules is in the repository: nua replaces it (add node_modules to .gitignore)")
		if err := os.RemoveAll(nm); err != nil {
			return fmt.Errorf("remove node_modules: %w", err)
		}
	}
	if lock == "" {
		return installUnlocked(ctx, b, m, mPath, p, env)
	}
	data, err := srcfile.Read(b.Src, lock, maxLockfile)
	if err != nil {
		return err
	}
	key := treecache.Key("node_modules", m.name, node.String(), string(data), p.Deps, installEnv(b))
	cache := treecache.Cache{Dir: filepath.Join(b.Cache, "node", "node_modules"), Link: true}
	if ok, err := cache.Restore(key, nm); err != nil {
		b.Out.Warn("%v: installing instead", err)
	} else if ok {
		b.Out.Info("Lockfile unchanged: reusing node_modules")
		return nil
	}
	args := m.install
	if err := run(ctx, b, env, "Installed", mPath, m.name, args...); err != nil {
		return err
	}
	if err := os.Mkdir(nm, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create node_modules: %w", err)
	}
	if err := cache.Save(key, nm); err != nil {
		b.Out.Warn("%v: the next build installs again", err)
	}
	return nil
}

// installUnlocked installs without a lockfile: what gets installed may
// change from one build to the next, so nothing is reused.
func installUnlocked(ctx context.Context, b *buildpacks.Build, m manager, mPath string, p pkg, env []string) error {
	if p.Deps == "" {
		b.Out.Info("No dependencies in package.json")
		return nil
	}
	b.Out.Warn("No lockfile: commit %s (%s install writes it) for repeatable builds", m.lockfiles[0], m.name)
	return run(ctx, b, env, "Installed", mPath, m.name, m.unlocked...)
}

// installEnv is the part of the app's config that changes what an install
// puts in node_modules, as one string for the cache key.
func installEnv(b *buildpacks.Build) string {
	var vars []string
	for _, kv := range b.Env {
		k, _, _ := strings.Cut(kv, "=")
		lk := strings.ToLower(k)
		if k == "NODE_ENV" || strings.HasPrefix(lk, "npm_config_") || strings.HasPrefix(lk, "yarn_") || strings.HasPrefix(lk, "pnpm_") {
			vars = append(vars, kv)
		}
	}
	slices.Sort(vars)
	return strings.Join(vars, "\n")
}

// run runs the tool at path in the source dir, shows the command line and
// its output, and says how long it took ("<done> in 1.2s").
func run(ctx context.Context, b *buildpacks.Build, env []string, done, path, name string, args ...string) error {
	b.Out.Info("%s %s", name, strings.Join(args, " "))
	start := time.Now()
	cmd := b.Command(ctx, path, args...)
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		step := args[0]
		if step == "run" && len(args) > 1 {
			step += " " + args[1]
		}
		return fmt.Errorf("%s %s: %w", name, step, err)
	}
	b.Out.Info("%s in %s", done, time.Since(start).Round(10*time.Millisecond))
	return nil
}
