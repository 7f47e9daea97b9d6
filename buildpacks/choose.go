package buildpacks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The rule that picks what builds an app, as Heroku's: a language
// toolchain that recognises the app builds it, whatever else the
// repository ships for other platforms. A backend (a Nix expression, a
// project.toml, a Dockerfile) builds the app when the app asks for it,
// with NUA_BUILDER or a heroku.yml whose build section names Dockerfiles,
// or when no language toolchain recognises it; a static site or a bare
// Procfile comes last. The order is the Builder's list of buildpacks:
// the first that recognises the app builds it.

// choice is the buildpack a build uses and why.
type choice struct {
	bp      Buildpack
	why     string      // "the app has a Dockerfile", "NUA_BUILDER=docker"
	ignored []Buildpack // backends that recognise the app too
	asked   bool        // the app named the backend
}

// lines says what the build output shows of the choice, beyond the
// buildpack's name.
func (c choice) lines() []string {
	var out []string
	if c.asked {
		out = append(out, "Chosen by "+c.why)
	}
	for _, bp := range c.ignored {
		out = append(out, fmt.Sprintf("%s ignored: the %s buildpack builds the app; %s=%s builds with it",
			strip(lookedFor(bp)), c.bp.Name(), BuilderKey, backendOf(bp)))
	}
	return out
}

// choose picks the buildpack for src under the rule above: the first of
// those NUA_BUILDER or heroku.yml allow that recognises it.
func (b *Builder) choose(src string, build *Build) (choice, error) {
	forced, _ := build.Getenv(BuilderKey)
	why := BuilderKey + "=" + forced
	if forced == "" {
		var err error
		if forced, err = herokuYML(src); err != nil {
			return choice{}, err
		}
		why = "heroku.yml's build section"
	}
	bps, err := b.candidates(forced)
	if err != nil {
		return choice{}, err
	}
	var c choice
	for _, bp := range bps {
		ok, err := bp.Detect(src)
		if err != nil {
			return choice{}, fmt.Errorf("detect %s app: %w", bp.Name(), err)
		}
		switch {
		case !ok:
		case c.bp == nil:
			c.bp = bp
		case backendOf(bp) != Native:
			c.ignored = append(c.ignored, bp)
		}
	}
	switch {
	case c.bp == nil && forced != "":
		return choice{}, fmt.Errorf("%w: %s, and nua looks for %s", ErrNoApp, why, looksFor(bps))
	case c.bp == nil:
		return choice{}, fmt.Errorf("%w: nua looks for %s", ErrNoApp, looksFor(bps))
	case forced != "":
		c.why, c.asked = why, true
	default:
		c.why = "the app has " + strip(lookedFor(c.bp))
	}
	return c, nil
}

// lookedFor is what bp recognises: "a Dockerfile (Docker)".
func lookedFor(bp Buildpack) string {
	if lf, ok := bp.(LooksFor); ok {
		return lf.LooksFor()
	}
	return "an app for the " + bp.Name() + " buildpack"
}

// strip drops the toolchain's name: "a Dockerfile (Docker)" → "a Dockerfile".
func strip(what string) string {
	if i := strings.LastIndex(what, " ("); i > 0 && strings.HasSuffix(what, ")") {
		return what[:i]
	}
	return what
}

// herokuYML returns "docker" when src has a heroku.yml whose build section
// names Dockerfiles (build: docker: web: Dockerfile), else "".
func herokuYML(src string) (string, error) {
	path := filepath.Join(src, "heroku.yml")
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read heroku.yml: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		return "", fmt.Errorf("read heroku.yml: not a regular file of at most 1 MiB")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read heroku.yml: %w", err)
	}
	var manifest struct {
		Build struct {
			Docker map[string]any `yaml:"docker"`
		} `yaml:"build"`
	}
	if err := yaml.Unmarshal(data, &manifest); err != nil {
		return "", fmt.Errorf("read heroku.yml: %w", err)
	}
	if len(manifest.Build.Docker) > 0 {
		return "docker", nil
	}
	return "", nil
}
