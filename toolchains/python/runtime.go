package python

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strings"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

// python is the host's Python that builds and runs the app.
type python struct {
	exe     string // the interpreter itself (not a shim), e.g. /usr/bin/python3.11
	version string // e.g. 3.11.2
}

// pin is a Python version the app asks for and the file that asks.
type pin struct{ file, want string }

// findPython finds the host's python3, checks it against the app's version
// pins and reports it. The interpreter is asked for its own path, so a
// version manager's shim on PATH is resolved once, outside the app's tree.
func findPython(ctx context.Context, b *buildpacks.Build, env []string) (python, error) {
	pins, err := pythonPins(b)
	if err != nil {
		return python{}, err
	}
	path, err := exec.LookPath("python3")
	if err != nil {
		want := "Python 3"
		if len(pins) > 0 {
			want = "Python " + pins[0].want
		}
		return python{}, fmt.Errorf("python3 not found on PATH: install %s on the server (Debian: apt-get install python3 python3-venv)", want)
	}
	cmd := exec.CommandContext(ctx, path, "-c", "import platform, sys; print(sys.executable); print(platform.python_version())")
	cmd.Env, cmd.Dir = env, os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		return python{}, fmt.Errorf("python3 -c: %w", err)
	}
	exe, version, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	py := python{exe: strings.TrimSpace(exe), version: strings.TrimSpace(version)}
	if py.exe == "" || !isVersion(py.version) {
		return python{}, fmt.Errorf("python3: unexpected answer %q", out)
	}
	var asked []string
	for _, p := range pins {
		if !versionMatches(py.version, p.want) {
			return python{}, fmt.Errorf("%s asks for Python %s but the server has Python %s: install Python %s on the server, or change %s",
				p.file, p.want, py.version, p.want, p.file)
		}
		asked = append(asked, p.file+": "+p.want)
	}
	if len(asked) == 0 {
		asked = append(asked, "no version asked for")
	}
	b.Out.Step("Using Python %s (%s)", py.version, strings.Join(asked, ", "))
	return py, nil
}

// pythonPins reads the versions asked for by .python-version (pyenv's:
// the first line that is not a comment) and runtime.txt (Heroku's:
// python-3.11.7). A .python-version naming something other than a version
// number (a pyenv alias like system) is shown and not checked.
func pythonPins(b *buildpacks.Build) ([]pin, error) {
	var pins []pin
	if want, ok, err := readPin(b.Src, ".python-version"); err != nil {
		return nil, err
	} else if ok && isVersion(want) {
		pins = append(pins, pin{".python-version", want})
	} else if ok {
		b.Out.Info(".python-version asks for %q: only version numbers are checked", want)
	}
	if want, ok, err := readPin(b.Src, "runtime.txt"); err != nil {
		return nil, err
	} else if ok {
		v := strings.TrimPrefix(want, "python-")
		if !isVersion(v) {
			return nil, fmt.Errorf("runtime.txt: %q is not a Python version (want e.g. python-3.11.7)", want)
		}
		pins = append(pins, pin{"runtime.txt", v})
	}
	return pins, nil
}

// readPin returns the first line of file name that is neither blank nor a
// comment.
func readPin(src, name string) (string, bool, error) {
	data, err := srcfile.Read(src, name, 4096)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line, true, nil
		}
	}
	return "", false, nil
}

// versionRE matches a Python version like 3, 3.11, 3.11.7 or 3.13.0rc1.
var versionRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,2}([a-z]+[0-9]+)?$`)

func isVersion(s string) bool { return versionRE.MatchString(s) }

// versionMatches reports whether version (3.11.7) is one that want (3,
// 3.11 or 3.11.7) asks for.
func versionMatches(version, want string) bool {
	return version == want || strings.HasPrefix(version, want+".")
}
