package python_test

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/internal/testutil"
	"github.com/nua-paas/nua/toolchains/python"
)

// TestInstall builds apps whose dependencies pip really installs with no
// package index (a project with a build backend in its tree), moves the
// slug as a deploy does, and runs what was installed from it.
func TestInstall(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, src string)
		wantOut []string
	}{
		{
			name:  "pyproject.toml",
			setup: func(t *testing.T, src string) { copyDir(t, "testdata/greet", src) },
			wantOut: []string{
				"-----> Installing the project with pip\n", "       pip install --no-input --progress-bar off .\n",
				"Successfully installed greet-1.0\n",
			},
		},
		{
			name: "requirements.txt naming a local project",
			setup: func(t *testing.T, src string) {
				copyDir(t, "testdata/greet", filepath.Join(src, "vendor", "greet"))
				write(t, filepath.Join(src, "requirements.txt"), "./vendor/greet  # ours\n")
			},
			wantOut: []string{
				"-----> Installing requirements with pip\n",
				"       requirements.txt names a local path (\"./vendor/greet\"): installing on every build\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, nil, nil)
			tt.setup(t, b.Src)
			if err := newToolchain(t).Build(t.Context(), b); err != nil {
				t.Fatalf("Build: %v\n%s", err, out)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			slug := b.Src + "-v1"
			if err := os.Rename(b.Src, slug); err != nil {
				t.Fatal(err)
			}
			if got, want := runIn(t, slug, "greet"), "hello from greet\n"; got != want {
				t.Fatalf("greet (a console script) in the moved slug: %q, want %q", got, want)
			}
			if got, want := runIn(t, slug, `python -c 'import sys; print(sys.prefix)'`), filepath.Join(slug, ".venv")+"\n"; got != want {
				t.Fatalf("python's prefix in the moved slug: %q, want %q", got, want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	host := hostPython(t)
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
		wantOut string
	}{
		{
			name:    ".python-version asks for another Python",
			files:   map[string]string{"requirements.txt": "", ".python-version": "2.7\n"},
			wantErr: ".python-version asks for Python 2.7 but the server has Python " + host + ": install Python 2.7 on the server, or change .python-version",
		},
		{
			name:    "runtime.txt asks for another Python",
			files:   map[string]string{"requirements.txt": "", "runtime.txt": "python-3.0.1\n"},
			wantErr: "runtime.txt asks for Python 3.0.1 but the server has Python " + host,
		},
		{
			name:    "runtime.txt is not a Python version",
			files:   map[string]string{"requirements.txt": "", "runtime.txt": "ruby-3.3\n"},
			wantErr: `runtime.txt: "ruby-3.3" is not a Python version (want e.g. python-3.11.7)`,
		},
		{
			name:    "Pipfile",
			files:   map[string]string{"Pipfile": "[packages]\n", "Pipfile.lock": "{}"},
			wantErr: "Pipfile is not supported yet: use requirements.txt (pipenv requirements > requirements.txt)",
		},
		{
			name:    "uv.lock and no uv",
			files:   map[string]string{"pyproject.toml": "", "uv.lock": ""},
			wantErr: "uv.lock found but uv is not installed on the server: install uv",
		},
		{
			name:    "pip fails",
			files:   map[string]string{"requirements.txt": "./not-here\n"},
			wantErr: "pip install: exit status 1",
			wantOut: "not-here",
		},
		{
			name:    "bin is a symlink",
			files:   map[string]string{"requirements.txt": "", "bin@": "/usr/bin"},
			wantErr: "check bin dir: bin is not a directory (a symlink?)",
		},
		{
			name:    "requirements.txt is a symlink",
			files:   map[string]string{"requirements.txt@": "/etc/hostname"},
			wantErr: "requirements.txt: not a regular file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, tt.files, nil)
			err := newToolchain(t).Build(t.Context(), b)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build: %v, want an error with %q\n%s", err, tt.wantErr, out)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

// TestProcesses checks the default web process and the hints shown when
// the app has no Procfile.
func TestProcesses(t *testing.T) {
	host := hostPython(t)
	minor := host[:strings.LastIndex(host, ".")]
	tests := []struct {
		name    string
		files   map[string]string
		wantWeb map[string]string
		wantOut string
	}{
		{
			name:    "app.py",
			files:   map[string]string{"requirements.txt": "", "app.py": "", ".python-version": minor + "\n"},
			wantWeb: map[string]string{"web": "python app.py"},
			wantOut: "-----> Using Python " + host + " (.python-version: " + minor + ")\n",
		},
		{
			name:    "Django",
			files:   map[string]string{"requirements.txt": "", "manage.py": "", "mysite/wsgi.py": "", "app.py": ""},
			wantWeb: map[string]string{},
			wantOut: " !     Django app (manage.py) and no Procfile: declare the web process in a Procfile, e.g.\n !     web: gunicorn mysite.wsgi\n",
		},
		{
			name:    "wsgi.py",
			files:   map[string]string{"setup.py": "", "requirements.txt": "", "wsgi.py": ""},
			wantWeb: map[string]string{},
			wantOut: " !     wsgi.py and no Procfile: declare the web process in a Procfile, e.g.\n !     web: gunicorn wsgi:app\n",
		},
		{
			name:    "Procfile",
			files:   map[string]string{"requirements.txt": "", "app.py": "", "Procfile": "web: gunicorn app:app\n"},
			wantWeb: map[string]string{},
		},
		{
			name:    "nothing to run",
			files:   map[string]string{"requirements.txt": "", ".python-version": "system\n"},
			wantWeb: map[string]string{},
			wantOut: "       .python-version asks for \"system\": only version numbers are checked\n",
		},
		{
			name:    "committed virtualenv",
			files:   map[string]string{"requirements.txt": "", "app.py": "", ".venv/bin/python": "junk"},
			wantWeb: map[string]string{"web": "python app.py"},
			wantOut: " !     .venv is in the repository: nua replaces it (add .venv to .gitignore)\n",
		},
		{
			name:    "uv.lock, no uv, requirements.txt",
			files:   map[string]string{"requirements.txt": "", "uv.lock": ""},
			wantWeb: map[string]string{},
			wantOut: " !     uv.lock found but uv is not installed on the server: installing requirements.txt with pip\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, tt.files, nil)
			if err := newToolchain(t).Build(t.Context(), b); err != nil {
				t.Fatalf("Build: %v\n%s", err, out)
			}
			if !maps.Equal(b.Processes, tt.wantWeb) {
				t.Fatalf("Processes=%v, want %v\n%s", b.Processes, tt.wantWeb, out)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("output lacks %q:\n%s", tt.wantOut, out)
			}
			if tt.name == "Procfile" && strings.Contains(out.String(), "Procfile:") {
				t.Fatalf("hints despite a Procfile:\n%s", out)
			}
		})
	}
}

// TestSeed checks that the first build makes the seed virtualenv and the
// next one, of another app, copies it.
func TestSeed(t *testing.T) {
	t.Parallel()
	tc := &python.Toolchain{SeedDir: t.TempDir()}
	for i, want := range []string{"       python3 -m venv .venv\n", "       Virtualenv .venv ready (Python "} {
		b, out := newBuild(t, map[string]string{"requirements.txt": ""}, nil)
		if err := tc.Build(t.Context(), b); err != nil {
			t.Fatalf("build %d: %v\n%s", i+1, err, out)
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("build %d: output lacks %q:\n%s", i+1, want, out)
		}
		if got := runIn(t, b.Src, "pip --version"); !strings.Contains(got, filepath.Join(b.Src, ".venv")) {
			t.Fatalf("build %d: pip --version = %q, want the app's virtualenv's pip", i+1, got)
		}
	}
}

// TestRequirementsReuse checks what makes a rebuild install again.
func TestRequirementsReuse(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	steps := []struct {
		name, requirements string
		env                []string
		reused             bool
	}{
		{name: "first build", requirements: "# none yet\n"},
		{name: "unchanged", requirements: "# none yet\n", reused: true},
		{name: "pip settings changed", requirements: "# none yet\n", env: []string{"PIP_NO_INDEX=1"}},
		{name: "requirements changed", requirements: "# none at all\n", env: []string{"PIP_NO_INDEX=1"}},
	}
	for _, st := range steps {
		b, out := newBuild(t, map[string]string{"requirements.txt": st.requirements}, st.env)
		b.Cache = cache
		if err := newToolchain(t).Build(t.Context(), b); err != nil {
			t.Fatalf("%s: %v\n%s", st.name, err, out)
		}
		if got := strings.Contains(out.String(), "       Requirements unchanged: reusing the virtualenv\n"); got != st.reused {
			t.Fatalf("%s: reused=%v, want %v\n%s", st.name, got, st.reused, out)
		}
	}
}

// TestPythonMissing checks the one-line message when the server has no
// python3.
func TestPythonMissing(t *testing.T) {
	b, out := newBuild(t, map[string]string{"requirements.txt": "", "runtime.txt": "python-3.12.1"}, nil)
	t.Setenv("PATH", t.TempDir())
	err := newToolchain(t).Build(t.Context(), b)
	want := "python3 not found on PATH: install Python 3.12.1 on the server (Debian: apt-get install python3 python3-venv)"
	if err == nil || err.Error() != want {
		t.Fatalf("Build: %v, want %q\n%s", err, want, out)
	}
}

// TestUVSync checks how uv is called when an app has uv.lock. uv cannot be
// installed on the test machines (no package index), so a stand-in on PATH
// records its arguments and environment and makes the virtualenv with
// python3 -m venv, as uv sync would.
func TestUVSync(t *testing.T) {
	bin := t.TempDir()
	record := filepath.Join(t.TempDir(), "uv.args")
	write(t, filepath.Join(bin, "uv"), "#!/bin/sh\n"+
		"printf '%s\\n' \"$*\" \"$UV_PROJECT_ENVIRONMENT\" \"$UV_CACHE_DIR\" \"$UV_PYTHON_DOWNLOADS\" > '"+record+"'\n"+
		"python3 -m venv --without-pip \"$UV_PROJECT_ENVIRONMENT\"\n")
	if err := os.Chmod(filepath.Join(bin, "uv"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	b, out := newBuild(t, map[string]string{"pyproject.toml": "", "uv.lock": "", "requirements.txt": "", "app.py": ""}, nil)
	if err := newToolchain(t).Build(t.Context(), b); err != nil {
		t.Fatalf("Build: %v\n%s", err, out)
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("uv did not run: %v\n%s", err, out)
	}
	lines := strings.Split(string(got), "\n")
	if !strings.HasPrefix(lines[0], "sync --locked --no-dev --python /") || lines[1] != filepath.Join(b.Src, ".venv") ||
		lines[2] != filepath.Join(b.Cache, "uv") || lines[3] != "never" {
		t.Fatalf("uv called with %q", lines)
	}
	if got := runIn(t, b.Src, `python -c 'import sys; print(sys.prefix)'`); got != filepath.Join(b.Src, ".venv")+"\n" {
		t.Fatalf("python in the slug runs from %q, want the virtualenv uv made", got)
	}
}

func TestDetect(t *testing.T) {
	for _, tt := range []struct {
		file string
		want bool
	}{{"requirements.txt", true}, {"pyproject.toml", true}, {"setup.py", true}, {"Pipfile", true}, {"app.py", false}, {"uv.lock", false}} {
		t.Run(tt.file, func(t *testing.T) {
			b, _ := newBuild(t, map[string]string{tt.file: ""}, nil)
			if got, err := python.New().Detect(b.Src); got != tt.want || err != nil {
				t.Fatalf("Detect=%v, %v, want %v", got, err, tt.want)
			}
		})
	}
}

// newToolchain returns the toolchain with the seeds the tests on this
// machine share.
func newToolchain(t *testing.T) *python.Toolchain {
	t.Helper()
	dir, err := testutil.PythonSeeds()
	if err != nil {
		t.Fatal(err)
	}
	return &python.Toolchain{SeedDir: dir}
}

// runIn runs command in the slug as procman would (the slug's bin first
// on PATH) and returns its output.
func runIn(t *testing.T, slug, command string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = slug
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(slug, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+slug)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
	return string(out)
}

// hostPython is the version of the host's python3, e.g. 3.11.2.
func hostPython(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("python3", "-c", "import platform; print(platform.python_version())")
	cmd.Dir = os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// newBuild returns a Build of a fresh source dir holding files; a name
// ending in @ is a symlink to the content.
func newBuild(t *testing.T, files map[string]string, env []string) (*buildpacks.Build, *bytes.Buffer) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		path := filepath.Join(src, filepath.FromSlash(strings.TrimSuffix(name, "@")))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "@") {
			if err := os.Symlink(content, path); err != nil {
				t.Fatal(err)
			}
			continue
		}
		write(t, path, content)
	}
	var out bytes.Buffer
	return &buildpacks.Build{
		Src: src, Cache: t.TempDir(), Env: env,
		Out: buildpacks.NewOutput(&out), Processes: map[string]string{},
	}, &out
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
