package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/npmreg"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

// The server's node and package manager build an app when they are the
// versions it asks for. Otherwise, with a runtime cache, nua provides
// them: the newest Node.js release each pin admits (the newest even-
// numbered line, a long-term support one, when nothing is pinned), the
// newest npm that Node.js runs, and the yarn or pnpm of packageManager or
// engines. They are linked from the slug's bin dir, first on the PATH of
// the build and of the app's processes, so `npm start` runs them too.

// nodeRuntime is the node an app builds and runs with.
type nodeRuntime struct {
	version  *semver.Version
	provided bool // from the runtime cache, linked into the slug's bin
}

// findNode returns the node of the build: the server's when it is on PATH
// and is what the app asks for, else one from the runtime cache.
func (t *Toolchain) findNode(ctx context.Context, b *buildpacks.Build, p pkg, env []string) (nodeRuntime, error) {
	pins, err := nodePins(b, p)
	if err != nil {
		return nodeRuntime{}, err
	}
	var asked []string
	for _, pin := range pins {
		asked = append(asked, pin[0]+": "+pin[1])
	}
	if len(asked) == 0 {
		asked = append(asked, "no version asked for")
	}
	v, hostErr := hostNode(ctx, pins, env)
	if hostErr == nil {
		b.Out.Step("Using node %s (%s)", v.Original(), strings.Join(asked, ", "))
		return nodeRuntime{version: v}, nil
	}
	if t.Runtimes == nil {
		return nodeRuntime{}, hostErr
	}
	want, err := pinsWant(pins)
	if err != nil {
		return nodeRuntime{}, err
	}
	pkg, err := t.Runtimes.Get(ctx, npmreg.NodePackage(), want)
	if err != nil {
		return nodeRuntime{}, fmt.Errorf("provide Node.js (%s): %w", strings.Join(asked, ", "), err)
	}
	b.Out.Step("Using node %s (%s), %s", pkg.Version, strings.Join(asked, ", "), origin(pkg))
	if err := linkBins(b, pkg); err != nil {
		return nodeRuntime{}, err
	}
	return nodeRuntime{version: pkg.Version, provided: true}, nil
}

// hostNode returns the version of the server's node, when it is on PATH
// and every pin admits it.
func hostNode(ctx context.Context, pins [][2]string, env []string) (*semver.Version, error) {
	path, err := exec.LookPath("node")
	if err != nil {
		want := "Node.js"
		if len(pins) > 0 {
			want += " " + pins[0][1]
		}
		return nil, fmt.Errorf("node not found on PATH: install %s on the server (Debian: apt-get install nodejs npm)", want)
	}
	v, err := toolVersion(ctx, path, env)
	if err != nil {
		return nil, err
	}
	for _, pin := range pins {
		if err := checkRange("node", pin[0], pin[1], v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// pinsWant accepts the Node.js versions every pin admits; with no pin,
// those of even-numbered (long-term support) lines.
func pinsWant(pins [][2]string) (npmreg.Want, error) {
	var cs []*semver.Constraints
	for _, pin := range pins {
		c, err := semver.NewConstraint(pin[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a version range (want e.g. \">=18\" or \"20.x\")", pin[0], pin[1])
		}
		cs = append(cs, c)
	}
	return func(v *semver.Version, _ map[string]string) bool {
		if len(cs) == 0 {
			return v.Major()%2 == 0
		}
		return !slices.ContainsFunc(cs, func(c *semver.Constraints) bool { return !c.Check(v) })
	}, nil
}

// provideManager returns the path of package manager m from the runtime
// cache: the version packageManager names, else the newest that the
// engines field and the build's node admit.
func (t *Toolchain) provideManager(ctx context.Context, b *buildpacks.Build, m manager, p pkg, node nodeRuntime) (string, error) {
	exact, pin := p.managerVersion(m.name), m.engine(p.Engines)
	var want *semver.Constraints
	for _, s := range []string{exact, pin} {
		if s == "" {
			continue
		}
		c, err := semver.NewConstraint(s)
		if err != nil {
			return "", fmt.Errorf("package.json asks for %s %q, which is not a version or range", m.name, s)
		}
		want = c
		break
	}
	if m.name == "yarn" && exact != "" && !strings.HasPrefix(exact, "1.") {
		return "", fmt.Errorf("packageManager asks for yarn %s: nua provides yarn 1 (classic) only; use yarn 1, npm or pnpm, or install yarn %s on the server", exact, exact)
	}
	pkg, err := t.Runtimes.Get(ctx, m.name, func(v *semver.Version, engines map[string]string) bool {
		if want != nil && !want.Check(v) || want == nil && m.name == "yarn" && v.Major() != 1 {
			return false
		}
		c, err := semver.NewConstraint(engines["node"])
		return engines["node"] == "" || err == nil && c.Check(node.version)
	})
	if err != nil {
		return "", fmt.Errorf("provide %s for node %s: %w", m.name, node.version, err)
	}
	b.Out.Info("Using %s %s, %s", m.name, pkg.Version, origin(pkg))
	if err := linkBins(b, pkg); err != nil {
		return "", err
	}
	return filepath.Join(b.Src, "bin", m.name), nil
}

// origin says where a provided package came from.
func origin(p npmreg.Package) string {
	if p.Fetched {
		return "downloaded into nua's runtime cache"
	}
	return "from nua's runtime cache"
}

// linkBins links the programs of pkg into the slug's bin dir. A file of
// the app's own by the same name is in the way: the build fails rather
// than run another program than it says.
func linkBins(b *buildpacks.Build, pkg npmreg.Package) error {
	if err := srcfile.CheckBinDir(b.Src); err != nil {
		return err
	}
	bins, err := npmreg.Bins(pkg.Dir)
	if err != nil {
		return err
	}
	dir := filepath.Join(b.Src, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create bin dir: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(bins)) {
		link := filepath.Join(dir, name)
		if err := os.Symlink(bins[name], link); err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("bin/%s is in the app: nua links %s %s there; rename the app's file", name, pkg.Name, pkg.Version)
			}
			return fmt.Errorf("link %s: %w", name, err)
		}
	}
	return nil
}

// withBin puts the slug's bin dir first on the PATH of env.
func withBin(b *buildpacks.Build, env []string) []string {
	bin := filepath.Join(b.Src, "bin")
	out := slices.Clone(env)
	for i, kv := range out {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			out[i] = "PATH=" + bin + string(os.PathListSeparator) + v
			return out
		}
	}
	return append(out, "PATH="+bin)
}
