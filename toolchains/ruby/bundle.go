package ruby

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/internal/excerpt"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

// Paths of the installed gems.
const (
	cacheBundle = "ruby/bundle"    // BUNDLE_PATH, in the app's cache
	cacheStamp  = "ruby/installed" // digest of what cacheBundle holds
	slugBundle  = "vendor/bundle"  // the release's copy, in the slug
)

// defaultWithout are the Gemfile groups not installed unless the app's
// BUNDLE_WITHOUT config says otherwise.
const defaultWithout = "development:test"

// groupsRE is a BUNDLE_WITHOUT list of Gemfile groups.
var groupsRE = regexp.MustCompile(`^[A-Za-z0-9_:, -]{0,200}$`)

// install installs an app's gems and puts them in its slug.
type install struct {
	b       *buildpacks.Build
	bundle  string // the bundle command
	ruby    string // host versions, part of the install's digest
	bundler string
}

// run installs the locked gems into the cache unless the last install
// there was of the same Gemfile, lockfile and host versions, then copies
// them into the slug and writes the slug's Bundler config.
func (in install) run(ctx context.Context) error {
	b := in.b
	without := defaultWithout
	if v, ok := b.Getenv("BUNDLE_WITHOUT"); ok {
		if !groupsRE.MatchString(v) {
			return fmt.Errorf("BUNDLE_WITHOUT config %q: list Gemfile groups separated by colons, e.g. development:test", excerpt.Of(v))
		}
		without = v
	}
	bundlePath := filepath.Join(b.Cache, cacheBundle)
	stampPath := filepath.Join(b.Cache, cacheStamp)
	digest, err := in.digest(without)
	if err != nil {
		return err
	}
	b.Out.Step("Installing dependencies using Bundler %s", in.bundler)
	if stamp, err := os.ReadFile(stampPath); err == nil && string(stamp) == digest && isDir(bundlePath) {
		b.Out.Info("Gemfile.lock unchanged: skipping bundle install, reusing the cached gems")
	} else {
		if err := in.bundleInstall(ctx, bundlePath, stampPath, digest, without); err != nil {
			return err
		}
	}
	if err := copyBundle(b, bundlePath); err != nil {
		return err
	}
	return writeBundleConfig(b, without)
}

// bundleInstall runs bundle install in deployment mode into bundlePath
// and records digest once it succeeds.
func (in install) bundleInstall(ctx context.Context, bundlePath, stampPath, digest, without string) error {
	b := in.b
	os.Remove(stampPath)
	if err := os.MkdirAll(bundlePath, 0o755); err != nil {
		return fmt.Errorf("create gem cache: %w", err)
	}
	b.Out.Info("bundle install (deployment mode, without %s)", without)
	start := time.Now()
	cmd := b.Command(ctx, in.bundle, "install")
	cmd.Env = b.ToolEnv(append(appBundleVars(b),
		"BUNDLE_GEMFILE="+filepath.Join(b.Src, "Gemfile"),
		"BUNDLE_DEPLOYMENT=true",
		"BUNDLE_PATH="+bundlePath,
		"BUNDLE_WITHOUT="+without,
		"BUNDLE_APP_CONFIG="+filepath.Join(b.Tmp, "bundle-config"),
		"BUNDLE_JOBS=4",
		"BUNDLE_SILENCE_ROOT_WARNING=1",
	)...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bundle install: %w", err)
	}
	b.Out.Info("Bundle installed in %s", time.Since(start).Round(10*time.Millisecond))
	if err := os.WriteFile(stampPath, []byte(digest), 0o600); err != nil {
		return fmt.Errorf("record installed gems: %w", err)
	}
	return nil
}

// appBundleVars are the app's BUNDLE_* config vars (credentials of private
// gem sources, mirrors), which Bundler reads from its environment.
func appBundleVars(b *buildpacks.Build) []string {
	var vars []string
	for _, kv := range b.Env {
		if strings.HasPrefix(kv, "BUNDLE_") {
			vars = append(vars, kv)
		}
	}
	return vars
}

// digest identifies an install: Gemfile, Gemfile.lock, the host's Ruby
// and Bundler, and the groups left out.
func (in install) digest(without string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "ruby %s\nbundler %s\nwithout %s\n", in.ruby, in.bundler, without)
	for _, name := range []string{"Gemfile", "Gemfile.lock"} {
		data, err := srcfile.Read(in.b.Src, name, maxPinFile)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// copyBundle copies the installed gems into the slug's vendor/bundle,
// leaving out the downloaded .gem archives.
func copyBundle(b *buildpacks.Build, bundlePath string) error {
	vendor := filepath.Join(b.Src, "vendor")
	if fi, err := os.Lstat(vendor); err == nil && !fi.IsDir() {
		return errors.New("copy gems: vendor is not a directory (a symlink?): nua installs the gems in vendor/bundle")
	}
	dst := filepath.Join(b.Src, slugBundle)
	if _, err := os.Lstat(dst); err == nil {
		b.Out.Warn("vendor/bundle is in the repository: nua replaces it with the installed gems")
		if err := os.RemoveAll(dst); err != nil {
			return fmt.Errorf("copy gems: %w", err)
		}
	}
	if err := os.MkdirAll(vendor, 0o755); err != nil {
		return fmt.Errorf("copy gems: %w", err)
	}
	skipArchives := func(rel string) bool {
		parts := strings.Split(rel, string(filepath.Separator))
		return len(parts) == 3 && parts[0] == "ruby" && parts[2] == "cache"
	}
	if err := buildpacks.CopyTree(dst, bundlePath, skipArchives); err != nil {
		return fmt.Errorf("copy gems into the slug: %w", err)
	}
	return nil
}

// writeBundleConfig writes the slug's .bundle/config, so that `bundle
// exec` in the release finds its gems. A .bundle from the repository is
// replaced: it holds one machine's local settings.
func writeBundleConfig(b *buildpacks.Build, without string) error {
	dir := filepath.Join(b.Src, ".bundle")
	if _, err := os.Lstat(dir); err == nil {
		b.Out.Warn(".bundle is in the repository: nua replaces it (add .bundle to .gitignore)")
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("write .bundle/config: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write .bundle/config: %w", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("write .bundle/config: %w", err)
	}
	config := fmt.Sprintf("---\nBUNDLE_DEPLOYMENT: \"true\"\nBUNDLE_PATH: %q\nBUNDLE_WITHOUT: %q\n", slugBundle, without)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		return fmt.Errorf("write .bundle/config: %w", err)
	}
	return nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
