package buildpacks

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dirs of a build inside the app's cache dir.
const (
	homeDir = "home" // HOME of build tools
	tmpDir  = ".tmp" // TMPDIR of build tools
)

// hostVars are the variables of the server's environment that build tools
// get: where programs are, the locale, and how to reach the network. The
// operator decides these; everything else comes from the build.
var hostVars = []string{
	"PATH", "LANG", "LC_ALL", "TZ",
	"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// ToolEnv returns the environment of a build tool: the host's PATH, locale
// and proxy settings, HOME and TMPDIR inside the build's dirs, then vars
// (KEY=VALUE) over them. The app's config is not included: a buildpack adds
// what the tool should see.
func (b *Build) ToolEnv(vars ...string) []string {
	env := HostEnv(hostVars...)
	if b.Home != "" {
		env = append(env, "HOME="+b.Home)
	}
	if b.Tmp != "" {
		env = append(env, "TMPDIR="+b.Tmp)
	}
	return mergeEnv(env, vars)
}

// HostEnv returns the server's own values of keys, as KEY=VALUE, for those
// that are set: a tool's settings that the operator decides (a package
// index, a certificate bundle, where a version manager lives), which a
// toolchain passes on to ToolEnv. Nothing else of the server's environment
// reaches a build.
func HostEnv(keys ...string) []string {
	var env []string
	for _, k := range keys {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// mergeEnv returns base with vars set over it, each key once.
func mergeEnv(base, vars []string) []string {
	out := slices.Clone(base)
	for _, kv := range vars {
		k, _, _ := cutEnv(kv)
		out = slices.DeleteFunc(out, func(e string) bool {
			ek, _, _ := cutEnv(e)
			return ek == k
		})
		out = append(out, kv)
	}
	return out
}

// prepareToolDirs creates the build's HOME and an empty TMPDIR in cache.
func prepareToolDirs(cache string) (home, tmp string, err error) {
	home, tmp = filepath.Join(cache, homeDir), filepath.Join(cache, tmpDir)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", "", fmt.Errorf("create build home: %w", err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return "", "", fmt.Errorf("empty build tmp dir: %w", err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return "", "", fmt.Errorf("create build tmp dir: %w", err)
	}
	return home, tmp, nil
}

// checkLinks walks the slug and refuses a symlink that leaves it by a
// relative path, or that points into one of the protected dirs (the app's
// cache, nua's data dir). An absolute link to another host file, such as a
// virtualenv's bin/python pointing at /usr/bin/python3, is allowed: the
// slug runs on the host that built it; so is one by an absolute path into
// a shared dir (the runtime cache) inside a protected one.
func checkLinks(slug string, protected, shared []string) error {
	return filepath.WalkDir(slug, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(slug, path)
		resolved := target
		if !filepath.IsAbs(target) {
			resolved = filepath.Join(filepath.Dir(path), target)
		}
		if within(slug, resolved) {
			return nil
		}
		if !filepath.IsAbs(target) {
			return fmt.Errorf("%w: symlink %s -> %s leaves the slug: make it point inside the app", ErrOutside, rel, target)
		}
		if slices.ContainsFunc(shared, func(d string) bool { return within(d, resolved) && !strings.Contains(target, "..") }) {
			return nil
		}
		for _, p := range protected {
			if p != "" && within(p, resolved) {
				return fmt.Errorf("%w: symlink %s -> %s points into nua's dir %s: copy what the app needs into the slug", ErrOutside, rel, target, p)
			}
		}
		return nil
	})
}

// within reports whether p is dir or inside it, comparing cleaned paths.
func within(dir, p string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
