// Package npmreg fetches packages from an npm registry into a cache that
// every app's builds share, read-only: Node.js itself (the registry's
// node-linux-ARCH packages), npm, yarn and pnpm. A version once in the
// cache is used from there, without the network.
package npmreg

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// DefaultRegistry is the registry packages come from unless Cache says.
const DefaultRegistry = "https://registry.npmjs.org"

// Limits on what the registry sends.
const (
	maxMetadata = 64 << 20
	maxTarball  = 256 << 20
)

// ErrNoVersion means no version of a package is the one a build wants.
var ErrNoVersion = errors.New("no matching version")

// Cache is the dir packages are fetched into: DIR/NAME/VERSION holds the
// files of each, as the package's tarball has them.
type Cache struct {
	Dir      string
	Registry string       // "" = DefaultRegistry
	Client   *http.Client // nil = a client with a 10 minute timeout
}

// Package is a package version in the cache.
type Package struct {
	Name    string
	Version *semver.Version
	Dir     string // holds the package's package.json
	Fetched bool   // downloaded by the call that returned it
}

// Want reports whether a version of a package is one the build can use;
// engines is the version's engines field (e.g. "node": ">=18").
type Want func(v *semver.Version, engines map[string]string) bool

// NodePackage is the name of the package of Node.js for this machine.
func NodePackage() string {
	arch := map[string]string{"amd64": "x64", "arm64": "arm64", "ppc64le": "ppc64", "s390x": "s390x"}[runtime.GOARCH]
	return "node-linux-" + cmp.Or(arch, runtime.GOARCH)
}

// nameRE is what npm allows as a package name, scoped or not.
var nameRE = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*$`)

// Get returns the newest version of package name that want accepts: from
// the cache when it holds one, else downloaded from the registry, checked
// against the registry's integrity hash and unpacked into the cache.
func (c *Cache) Get(ctx context.Context, name string, want Want) (Package, error) {
	if !nameRE.MatchString(name) || len(name) > 214 {
		return Package{}, fmt.Errorf("%q is not an npm package name", name)
	}
	if p, ok, err := c.cached(name, want); err != nil || ok {
		return p, err
	}
	versions, err := c.metadata(ctx, name)
	if err != nil {
		return Package{}, err
	}
	var best *semver.Version
	var dist distInfo
	for s, v := range versions {
		sv, err := semver.StrictNewVersion(s)
		if err != nil || sv.Prerelease() != "" || !want(sv, v.engines()) {
			continue
		}
		if best == nil || sv.GreaterThan(best) {
			best, dist = sv, v.Dist
		}
	}
	if best == nil {
		return Package{}, fmt.Errorf("%s: %w in %s", name, ErrNoVersion, c.registry())
	}
	dir := c.versionDir(name, best)
	if err := c.fetch(ctx, dist, dir); err != nil {
		return Package{}, fmt.Errorf("fetch %s@%s: %w", name, best, err)
	}
	return Package{Name: name, Version: best, Dir: dir, Fetched: true}, nil
}

func (c *Cache) registry() string {
	return strings.TrimSuffix(cmp.Or(c.Registry, DefaultRegistry), "/")
}

func (c *Cache) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return &http.Client{Timeout: 10 * time.Minute}
}

func (c *Cache) versionDir(name string, v *semver.Version) string {
	return filepath.Join(c.Dir, filepath.FromSlash(name), v.String())
}

// cached returns the newest version of name in the cache that want
// accepts.
func (c *Cache) cached(name string, want Want) (Package, bool, error) {
	entries, err := os.ReadDir(filepath.Join(c.Dir, filepath.FromSlash(name)))
	if errors.Is(err, os.ErrNotExist) {
		return Package{}, false, nil
	}
	if err != nil {
		return Package{}, false, fmt.Errorf("read the runtime cache: %w", err)
	}
	var best Package
	for _, e := range entries {
		v, err := semver.StrictNewVersion(e.Name())
		if err != nil || !e.IsDir() || (best.Version != nil && !v.GreaterThan(best.Version)) {
			continue // a download under way starts with a dot
		}
		dir := c.versionDir(name, v)
		if want(v, Engines(dir)) {
			best = Package{Name: name, Version: v, Dir: dir}
		}
	}
	return best, best.Version != nil, nil
}

// Engines reads the engines field of the package in dir.
func Engines(dir string) map[string]string {
	var p struct {
		Engines json.RawMessage `json:"engines"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil || json.Unmarshal(data, &p) != nil {
		return nil
	}
	return parseEngines(p.Engines)
}

// parseEngines reads an engines field; old packages have an array there,
// which says nothing a build can check.
func parseEngines(raw json.RawMessage) map[string]string {
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

type distInfo struct {
	Tarball   string `json:"tarball"`
	Integrity string `json:"integrity"`
	Shasum    string `json:"shasum"`
}

type versionInfo struct {
	Dist    distInfo        `json:"dist"`
	Engines json.RawMessage `json:"engines"`
}

func (v versionInfo) engines() map[string]string { return parseEngines(v.Engines) }

// metadata fetches the registry's list of name's versions.
func (c *Cache) metadata(ctx context.Context, name string) (map[string]versionInfo, error) {
	u := c.registry() + "/" + strings.Replace(name, "/", "%2f", 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.npm.install-v1+json")
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask the npm registry for %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ask the npm registry for %s: %s from %s", name, resp.Status, u)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadata+1))
	if err != nil {
		return nil, fmt.Errorf("ask the npm registry for %s: %w", name, err)
	}
	if len(data) > maxMetadata {
		return nil, fmt.Errorf("ask the npm registry for %s: more than %d MiB of metadata", name, maxMetadata>>20)
	}
	var doc struct {
		Versions map[string]versionInfo `json:"versions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("ask the npm registry for %s: %w", name, err)
	}
	return doc.Versions, nil
}

// fetch downloads the tarball of d, checks its hash and unpacks it into
// dir, which appears whole or not at all.
func (c *Cache) fetch(ctx context.Context, d distInfo, dir string) error {
	sum, err := parseIntegrity(d)
	if err != nil {
		return err
	}
	if u, err := url.Parse(d.Tarball); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("tarball %q: not an http(s) URL", d.Tarball)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.Tarball, nil)
	if err != nil {
		return err
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s from %s", resp.Status, d.Tarball)
	}
	tmp, err := os.CreateTemp("", "nua-npm-*.tgz")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sum.hash()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, maxTarball+1))
	if err != nil {
		return fmt.Errorf("download %s: %w", d.Tarball, err)
	}
	if n > maxTarball {
		return fmt.Errorf("download %s: larger than %d MiB", d.Tarball, maxTarball>>20)
	}
	if got := h.Sum(nil); !bytes.Equal(got, sum.want) {
		return fmt.Errorf("download %s: its %s hash does not match the registry's: not unpacked", d.Tarball, sum.algo)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return unpackInto(tmp, dir)
}

type checksum struct {
	algo string
	want []byte
}

func (s checksum) hash() hash.Hash {
	if s.algo == "sha512" {
		return sha512.New()
	}
	return sha1.New()
}

// parseIntegrity reads the hash the registry gives for a tarball: the
// sha512 of its integrity field, else its sha1 shasum.
func parseIntegrity(d distInfo) (checksum, error) {
	for _, field := range strings.Fields(d.Integrity) {
		if b64, ok := strings.CutPrefix(field, "sha512-"); ok {
			want, err := base64.StdEncoding.DecodeString(b64)
			if err == nil && len(want) == sha512.Size {
				return checksum{"sha512", want}, nil
			}
		}
	}
	if want, err := hex.DecodeString(d.Shasum); err == nil && len(want) == sha1.Size {
		return checksum{"sha1", want}, nil
	}
	return checksum{}, fmt.Errorf("tarball %s: the registry gives no sha512 or sha1 hash to check it by", d.Tarball)
}

// unpackInto unpacks the gzipped tarball r, whose entries share one top
// dir ("package/"), into dir: regular files, dirs and symlinks that stay
// inside it, all readable by everyone and writable by no one but their
// owner, the programs of its bin field executable. It unpacks next to dir,
// then renames; if another build got there first, its copy stays.
func unpackInto(r io.Reader, dir string) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := unpack(r, tmp); err != nil {
		return err
	}
	// npm makes a package's programs executable when it installs one.
	bins, err := Bins(tmp)
	if err != nil {
		return err
	}
	for _, bin := range bins {
		if fi, err := os.Lstat(bin); err == nil && fi.Mode().IsRegular() {
			if err := os.Chmod(bin, 0o755); err != nil {
				return err
			}
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "package.json")); serr == nil {
			return nil
		}
		return err
	}
	return nil
}

func unpack(r io.Reader, dst string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack: %w", err)
		}
		rel, ok := entryPath(h.Name)
		if !ok {
			return fmt.Errorf("unpack: entry %q leaves the package", h.Name)
		}
		if rel == "" {
			continue
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			mode := os.FileMode(0o644)
			if h.Mode&0o111 != 0 {
				mode = 0o755
			}
			if err := writeFile(target, tr, mode); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if !symlinkInside(rel, h.Linkname) {
				return fmt.Errorf("unpack: symlink %s -> %s leaves the package", rel, h.Linkname)
			}
			if err := os.Symlink(h.Linkname, target); err != nil {
				return err
			}
		}
	}
}

// entryPath strips the tarball's top dir from name; ok is false when name
// would leave the package.
func entryPath(name string) (string, bool) {
	name = strings.TrimPrefix(name, "./")
	if path.IsAbs(name) || strings.Contains(name, `\`) {
		return "", false
	}
	_, rest, _ := strings.Cut(name, "/")
	clean := path.Clean("/" + rest)[1:]
	if slices.Contains(strings.Split(rest, "/"), "..") {
		return "", false
	}
	return clean, true
}

// symlinkInside reports whether a symlink at rel pointing at target stays
// inside the package.
func symlinkInside(rel, target string) bool {
	if path.IsAbs(target) {
		return false
	}
	joined := path.Clean(path.Join(path.Dir(rel), target))
	return joined != ".." && !strings.HasPrefix(joined, "../")
}

func writeFile(name string, r io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Bins returns the programs the package in dir declares in its bin field,
// name to absolute path; each stays inside dir.
func Bins(dir string) (map[string]string, error) {
	var p struct {
		Name string          `json:"name"`
		Bin  json.RawMessage `json:"bin"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s/package.json: %w", dir, err)
	}
	bins := map[string]string{}
	var one string
	if json.Unmarshal(p.Bin, &one) == nil && one != "" {
		bins[path.Base(p.Name)] = one
	} else if len(p.Bin) > 0 {
		if err := json.Unmarshal(p.Bin, &bins); err != nil {
			return nil, fmt.Errorf("%s/package.json: bin: %w", dir, err)
		}
	}
	out := make(map[string]string, len(bins))
	for name, rel := range bins {
		if !nameRE.MatchString(name) || strings.Contains(name, "/") {
			return nil, fmt.Errorf("%s/package.json: bin %q is not a program name", dir, name)
		}
		if !symlinkInside("x", rel) {
			return nil, fmt.Errorf("%s/package.json: bin %s: %q leaves the package", dir, name, rel)
		}
		out[name] = filepath.Join(dir, filepath.FromSlash(path.Clean(rel)))
	}
	return out, nil
}
