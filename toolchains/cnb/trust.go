package cnb

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/nua-paas/nua/buildpacks"
)

// A builder's lifecycle runs with the container engine's socket: only one
// the operator trusts may build (builders:trust), and what project.toml
// adds to it must not make nua read the server's disk.

// ErrUntrusted means a build names a builder the operator does not trust.
var ErrUntrusted = errors.New("builder not trusted")

// CheckBuilder checks that builder, as project.toml or the CNB_BUILDER
// config names it, is one of trusted, the images the operator trusts,
// spelled the same way.
func CheckBuilder(builder string, trusted []string) error {
	if err := buildpacks.CheckImageRef(builder); err != nil {
		return fmt.Errorf("builder: %w", err)
	}
	if !slices.Contains(trusted, builder) {
		return fmt.Errorf("%w: builder %s is not trusted on this server: an admin trusts it with `builders:trust %s` (ssh nua@HOST builders:trust %s); `builders` lists the trusted ones", ErrUntrusted, builder, builder, builder)
	}
	return nil
}

// Patterns pack tells buildpack locators apart by (pkg/buildpack,
// locator_type.go): a URI has a scheme, a registry reference is NS/NAME
// with an optional @SEMVER.
var (
	uriRE      = regexp.MustCompile(`^.+:/.*`)
	registryRE = regexp.MustCompile(`^[a-z0-9\-\.]+\/[a-z0-9\-\.]+(?:@` +
		`(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?` +
		`)?$`)
)

// CheckBuildpackLocator checks one buildpack of project.toml, as pack
// locates it (its uri, else id@version), before pack reads it: one of the
// builder's, of the buildpack registry or an https:// archive may come
// from anywhere; a buildpack image (docker://, or a name that is no path)
// may be any but one of nua's own builds; a relative path inside the app
// is the app's own code; an absolute path or file:// URL must be inside
// dir, the operator's buildpacks dir (nua server --buildpacks-dir; ""
// allows none).
func CheckBuildpackLocator(locator, app, dir string) error {
	switch {
	case locator == "from=builder" || strings.HasPrefix(locator, "from=builder:"),
		strings.HasPrefix(locator, "urn:cnb:builder:"), strings.HasPrefix(locator, "urn:cnb:registry:"):
		return nil
	case strings.HasPrefix(locator, "docker:/"):
		return checkImageLocator(locator, strings.TrimLeft(strings.TrimPrefix(locator, "docker:"), "/"))
	case uriRE.MatchString(locator):
		return checkURILocator(locator, dir)
	}
	if filepath.IsAbs(locator) { // a path, or no image name either
		return checkOnDisk(locator, locator, dir)
	}
	path := filepath.Join(app, locator)
	if _, err := os.Stat(path); err != nil { // not a path for pack either
		if registryRE.MatchString(locator) {
			return nil
		}
		return checkImageLocator(locator, locator)
	}
	if !insideResolved(app, path) {
		return fmt.Errorf("project.toml buildpack %s leaves the app: a relative buildpack path stays in the app's tree", locator)
	}
	return nil
}

// checkURILocator checks a buildpack of project.toml named by a URL.
func checkURILocator(locator, dir string) error {
	u, err := url.Parse(locator)
	if err != nil {
		return fmt.Errorf("project.toml buildpack %s: not a URL nua can check: %w", locator, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return fmt.Errorf("project.toml buildpack %s: give a local path: file:///path/to/buildpack", locator)
		}
		return checkOnDisk(locator, u.Path, dir)
	}
	return fmt.Errorf("project.toml buildpack %s: use an https:// URL, docker://IMAGE, urn:cnb:registry:ID or a path", locator)
}

// checkImageLocator checks a buildpack image of project.toml.
func checkImageLocator(locator, image string) error {
	if err := buildpacks.CheckImageRef(image); err != nil {
		return fmt.Errorf("project.toml buildpack %s: %w", locator, err)
	}
	return nil
}

// checkOnDisk checks a buildpack of project.toml on the server's disk.
func checkOnDisk(locator, path, dir string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("project.toml buildpack %s: give an absolute path: file:///path/to/buildpack", locator)
	}
	if err := buildpacks.CheckLocalBuildpack(dir, path); err != nil {
		return fmt.Errorf("project.toml buildpack %s: %w", locator, err)
	}
	return nil
}

// insideResolved reports whether path is inside dir, symlinks resolved.
func insideResolved(dir, path string) bool {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(realDir, real)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
