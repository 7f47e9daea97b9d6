package python

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
	"github.com/nua-paas/nua/toolchains/internal/treecache"
)

// makeVenv makes a virtualenv with pip at venv: a copy of the seed for
// py, which is made first if there is none. The copy's files are hard links
// to the seed's where the file system allows: pip and Python replace files
// rather than rewrite them, so the seed stays as it was made.
func (t *Toolchain) makeVenv(ctx context.Context, b *buildpacks.Build, py python, venv string, env []string) error {
	seedDir := t.SeedDir
	if seedDir == "" || b.Confined() { // a shared seed would be one app's to change
		seedDir = filepath.Join(b.Cache, "python", "seed")
	}
	seeds := treecache.Cache{Dir: seedDir, Link: true}
	key := treecache.Key("venv-seed", py.exe, py.version)
	unlock, err := seeds.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if ok, err := seeds.Restore(key, venv); err != nil {
		b.Out.Warn("%v: making a new one", err)
	} else if ok {
		b.Out.Info("Virtualenv %s ready (Python %s, pip)", venvDir, py.version)
		return nil
	}
	b.Out.Info("python3 -m venv %s", venvDir)
	start := time.Now()
	cmd := b.Command(ctx, py.exe, "-m", "venv", venv)
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("python3 -m venv: %w (on Debian, install python3-venv)", err)
	}
	if err := relocate(venv); err != nil {
		return err
	}
	b.Out.Info("Made in %s", time.Since(start).Round(10*time.Millisecond))
	if err := seeds.Save(key, venv); err != nil {
		b.Out.Warn("%v: the next build makes it again", err)
	}
	return nil
}

// interpRE matches the name of a Python interpreter in a virtualenv's bin.
var interpRE = regexp.MustCompile(`^python[0-9.]*$`)

// maxScript bounds the scripts relocate rewrites.
const maxScript = 1 << 20

// relocate rewrites the scripts in venv/bin whose first line runs the
// virtualenv's Python by its absolute path (pip writes them so) to find
// that Python next to themselves instead, as pip itself does for long
// paths. The virtualenv then works wherever the slug is moved.
func relocate(venv string) error {
	bin := filepath.Join(venv, "bin")
	entries, err := os.ReadDir(bin)
	if err != nil {
		return fmt.Errorf("relocate virtualenv: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := relocateScript(filepath.Join(bin, e.Name()), bin); err != nil {
			return fmt.Errorf("relocate virtualenv: %w", err)
		}
	}
	return nil
}

// relocateScript rewrites the script at path if it runs a Python in bin by
// its absolute path. The new file replaces the old one by a rename, as the
// old one may be shared with a cache by a hard link.
func relocateScript(path, bin string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() > maxScript {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	interp, rest, ok := absShebang(data, bin)
	if !ok {
		return nil
	}
	header := "#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")\"/" + interp + " \"$0\" \"$@\"\n' '''\n"
	tmp := path + ".nua-tmp"
	if err := os.WriteFile(tmp, append([]byte(header), rest...), fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// absShebang reports whether script starts by running a Python interpreter
// in bin by its absolute path, in either form pip writes: "#!BIN/python" or
// the /bin/sh trampoline it uses for long paths. It returns the
// interpreter's name and the script after that header.
func absShebang(script []byte, bin string) (interp string, rest []byte, ok bool) {
	line, after, _ := bytes.Cut(script, []byte("\n"))
	if p, found := strings.CutPrefix(string(line), "#!"+bin+"/"); found {
		return p, after, interpRE.MatchString(p)
	}
	if string(line) != "#!/bin/sh" {
		return "", nil, false
	}
	line2, after2, _ := bytes.Cut(after, []byte("\n"))
	line3, after3, _ := bytes.Cut(after2, []byte("\n"))
	prefix := "'''exec' \"" + bin + "/"
	p, found := strings.CutPrefix(string(line2), prefix)
	if !found || string(line3) != "' '''" {
		return "", nil, false
	}
	p, found = strings.CutSuffix(p, "\" \"$0\" \"$@\"")
	return p, after3, found && interpRE.MatchString(p)
}

// linkBin makes the virtualenv's commands reachable from the slug's bin
// dir, which is first on the processes' PATH: bin/python (and python3...)
// is a small script that runs the virtualenv's interpreter (a symlink would
// not do: Python finds its virtualenv next to the path it was run by), and
// each other command is a relative symlink. The app's own files in bin are
// left alone.
func linkBin(b *buildpacks.Build, venv string) error {
	bin := filepath.Join(b.Src, "bin")
	if err := srcfile.CheckBinDir(b.Src); err != nil {
		return err
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return fmt.Errorf("create bin dir: %w", err)
	}
	entries, err := os.ReadDir(filepath.Join(venv, "bin"))
	if err != nil {
		return fmt.Errorf("link virtualenv commands: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "activate") || strings.HasPrefix(name, "Activate") || strings.HasSuffix(name, ".nua-tmp") {
			continue
		}
		dst := filepath.Join(bin, name)
		if _, err := os.Lstat(dst); err == nil {
			if interpRE.MatchString(name) {
				b.Out.Warn("bin/%s is the app's own: it does not run the virtualenv's Python", name)
			}
			continue
		}
		if err := linkCommand(dst, name); err != nil {
			return fmt.Errorf("link virtualenv commands: %w", err)
		}
	}
	return nil
}

// linkCommand makes bin/name run .venv/bin/name.
func linkCommand(dst, name string) error {
	if !interpRE.MatchString(name) {
		return os.Symlink(filepath.Join("..", venvDir, "bin", name), dst)
	}
	script := "#!/bin/sh\n" +
		"# The app's virtualenv Python (made by nua's Python buildpack).\n" +
		"exec \"$(dirname -- \"$(realpath -- \"$0\")\")/../" + venvDir + "/bin/" + name + "\" \"$@\"\n"
	return os.WriteFile(dst, []byte(script), 0o755)
}
