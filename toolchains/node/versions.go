package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

// toolVersion runs `tool --version` and returns the version it prints.
func toolVersion(ctx context.Context, path string, env []string) (*semver.Version, error) {
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env, cmd.Dir = env, os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", path, err)
	}
	v, err := semver.NewVersion(strings.TrimSpace(string(out)))
	if err != nil {
		return nil, fmt.Errorf("%s --version: unexpected output %q", path, strings.TrimSpace(string(out)))
	}
	return v, nil
}

// checkRange checks that found satisfies the range want, which file asks
// for (e.g. "engines.node in package.json"). An empty want is any version.
func checkRange(tool, file, want string, found *semver.Version) error {
	want = strings.TrimSpace(want)
	if want == "" {
		return nil
	}
	c, err := semver.NewConstraint(want)
	if err != nil {
		return fmt.Errorf("%s: %q is not a version range (want e.g. \">=18\" or \"20.x\")", file, want)
	}
	if !c.Check(found) {
		return fmt.Errorf("%s asks for %s %s but the server has %s %s: install %s %s on the server, or change %s",
			file, tool, want, tool, found.Original(), tool, want, file)
	}
	return nil
}

// nodePins returns the Node.js version ranges the app asks for, each with
// the file that asks: engines.node, then .nvmrc and .node-version when they
// hold a version number. Aliases such as lts/* cannot be checked and are
// reported as such.
func nodePins(b *buildpacks.Build, p pkg) ([][2]string, error) {
	var pins [][2]string
	if p.Engines.Node != "" {
		pins = append(pins, [2]string{"engines.node in package.json", p.Engines.Node})
	}
	for _, name := range []string{".nvmrc", ".node-version"} {
		data, err := srcfile.Read(b.Src, name, 1024)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		want, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		want = strings.TrimSpace(want)
		if !isVersionNumber(want) {
			b.Out.Info("%s asks for %q: only version numbers are checked", name, want)
			continue
		}
		pins = append(pins, [2]string{name, strings.TrimPrefix(want, "v")})
	}
	return pins, nil
}

// isVersionNumber reports whether s is like 20, v20.1 or 20.1.0.
func isVersionNumber(s string) bool {
	s = strings.TrimPrefix(s, "v")
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
