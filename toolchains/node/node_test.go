package node_test

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/node"
)

const (
	startPkg = `{"name": "t", "version": "1.0.0", "scripts": {"start": "node server.js"}}`
	msPkg    = `{"name": "t", "version": "1.0.0", "scripts": {"start": "node server.js"}, "dependencies": {"ms": "^2.1.3"}}`
)

// msLock is the package-lock.json of msPkg.
const msLock = `{
  "name": "t", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "t", "version": "1.0.0", "dependencies": {"ms": "^2.1.3"}},
    "node_modules/ms": {
      "version": "2.1.3",
      "integrity": "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==",
      "license": "MIT"
    }
  }
}
`

func TestBuild(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantWeb map[string]string
		wantOut []string
	}{
		{
			name:    "start script, no dependencies, no lockfile",
			files:   map[string]string{"package.json": startPkg},
			wantWeb: map[string]string{"web": "npm start"},
			wantOut: []string{"-----> Using node v", "(no version asked for)", "       No dependencies in package.json\n"},
		},
		{
			name:    "server.js and no start script",
			files:   map[string]string{"package.json": `{"name": "t"}`, "server.js": ""},
			wantWeb: map[string]string{"web": "npm start"},
		},
		{
			name:    "no start script",
			files:   map[string]string{"package.json": `{"name": "t", "scripts": {"test": "true"}}`},
			wantWeb: map[string]string{},
			wantOut: []string{" !     No start script in package.json and no server.js: add a start script or declare the web process in a Procfile (web: node app.js)\n"},
		},
		{
			name:    "no start script but a Procfile",
			files:   map[string]string{"package.json": `{"name": "t"}`, "Procfile": "web: node app.js\n"},
			wantWeb: map[string]string{},
		},
		{
			name:    "version pins met",
			files:   map[string]string{"package.json": `{"engines": {"node": ">=18 <100", "npm": ">=7"}}`, ".nvmrc": "v" + hostNodeMajor(t) + "\n"},
			wantWeb: map[string]string{},
			wantOut: []string{"(engines.node in package.json: >=18 <100, .nvmrc: " + hostNodeMajor(t) + ")\n"},
		},
		{
			name:    "nvmrc alias",
			files:   map[string]string{"package.json": startPkg, ".nvmrc": "lts/*\n"},
			wantWeb: map[string]string{"web": "npm start"},
			wantOut: []string{"       .nvmrc asks for \"lts/*\": only version numbers are checked\n"},
		},
		{
			name:    "build script",
			files:   map[string]string{"package.json": `{"scripts": {"build": "echo building > out.txt"}}`},
			wantWeb: map[string]string{},
			wantOut: []string{"-----> Running build script\n", "       npm run build\n", "       Built in "},
		},
		{
			name:    "committed node_modules",
			files:   map[string]string{"package.json": startPkg, "node_modules/junk/index.js": ""},
			wantWeb: map[string]string{"web": "npm start"},
			wantOut: []string{" !     node_modules is in the repository: nua replaces it (add node_modules to .gitignore)\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, tt.files, nil)
			if err := node.New().Build(t.Context(), b); err != nil {
				t.Fatalf("Build: %v\n%s", err, out)
			}
			if !maps.Equal(b.Processes, tt.wantWeb) {
				t.Fatalf("Processes=%v, want %v\n%s", b.Processes, tt.wantWeb, out)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
		wantOut string // a line of the tool's own output
	}{
		{
			name:    "not JSON",
			files:   map[string]string{"package.json": "{\n  \"name\": \"t\",\n  oops\n}\n"},
			wantErr: "package.json is not valid JSON: line 3, column 3: invalid character 'o' looking for beginning of object key string",
		},
		{
			name:    "not an object",
			files:   map[string]string{"package.json": `["a"]`},
			wantErr: "package.json is not a JSON object (found array)",
		},
		{
			name:    "scripts of the wrong type",
			files:   map[string]string{"package.json": `{"scripts": "node x.js"}`},
			wantErr: "package.json: scripts must be an object, not a JSON string",
		},
		{
			name:    "engine of the wrong type",
			files:   map[string]string{"package.json": `{"engines": {"node": 18}}`},
			wantErr: "package.json: engines.node must be a string, not a JSON number",
		},
		{
			name:    "engines.node unsatisfiable",
			files:   map[string]string{"package.json": `{"engines": {"node": ">=99"}}`},
			wantErr: "engines.node in package.json asks for node >=99 but the server has node v",
		},
		{
			name:    "engines.node not a range",
			files:   map[string]string{"package.json": `{"engines": {"node": "latest please"}}`},
			wantErr: `engines.node in package.json: "latest please" is not a version range`,
		},
		{
			name:    "nvmrc unsatisfiable",
			files:   map[string]string{"package.json": startPkg, ".nvmrc": "4.2\n"},
			wantErr: ".nvmrc asks for node 4.2 but the server has node v",
		},
		{
			name:    "engines.npm unsatisfiable",
			files:   map[string]string{"package.json": `{"engines": {"npm": "<2"}}`},
			wantErr: "engines.npm in package.json asks for npm <2 but the server has npm ",
		},
		{
			name:    "two lockfiles",
			files:   map[string]string{"package.json": startPkg, "package-lock.json": "{}", "yarn.lock": ""},
			wantErr: "lockfiles of several package managers found (package-lock.json, yarn.lock): keep the one of the package manager you use and delete the others",
		},
		{
			name:    "lockfile out of sync",
			files:   map[string]string{"package.json": strings.Replace(msPkg, `"ms": "^2.1.3"`, `"ms": "^2.1.3", "left-pad": "^1.3.0"`, 1), "package-lock.json": msLock},
			wantErr: "npm ci: exit status 1",
			wantOut: "in sync",
		},
		{
			name:    "build script fails",
			files:   map[string]string{"package.json": `{"scripts": {"build": "echo compiling; exit 3"}}`},
			wantErr: "npm run build: exit status 3",
			wantOut: "       compiling\n",
		},
		{
			name:    "package.json is a symlink",
			files:   map[string]string{"package.json@": "/etc/hostname"},
			wantErr: "read package.json: not a regular file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, out := newBuild(t, tt.files, nil)
			err := node.New().Build(t.Context(), b)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build: %v, want an error with %q\n%s", err, tt.wantErr, out)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

// TestMissingTools checks the one-line message when the server lacks the
// runtime or the package manager a lockfile asks for.
func TestMissingTools(t *testing.T) {
	tests := []struct {
		name    string
		tools   []string // what PATH holds
		files   map[string]string
		wantErr string
	}{
		{
			name:    "no node",
			files:   map[string]string{"package.json": `{"engines": {"node": ">=18"}}`},
			wantErr: "node not found on PATH: install Node.js >=18 on the server (Debian: apt-get install nodejs npm)",
		},
		{
			name:    "no npm",
			tools:   []string{"node"},
			files:   map[string]string{"package.json": startPkg, "package-lock.json": "{}"},
			wantErr: "package-lock.json found but npm is not installed on the server: install it (apt-get install npm)",
		},
		{
			name:    "no yarn",
			tools:   []string{"node", "npm"},
			files:   map[string]string{"package.json": startPkg, "yarn.lock": ""},
			wantErr: "yarn.lock found but yarn is not installed on the server: install it (npm install -g yarn, or corepack enable yarn)",
		},
		{
			name:    "no pnpm",
			tools:   []string{"node", "npm"},
			files:   map[string]string{"package.json": startPkg, "pnpm-lock.yaml": ""},
			wantErr: "pnpm-lock.yaml found but pnpm is not installed on the server: install it (npm install -g pnpm, or corepack enable pnpm)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, out := newBuild(t, tt.files, nil)
			t.Setenv("PATH", pathWith(t, tt.tools...))
			err := node.New().Build(t.Context(), b)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("Build: %v, want %q\n%s", err, tt.wantErr, out)
			}
		})
	}
}

// TestInstallReuse builds an app with a dependency again and again with the
// same cache: node_modules is reused while what decides the install is
// unchanged, and installed again when it changes.
func TestInstallReuse(t *testing.T) {
	cache := t.TempDir()
	steps := []struct {
		name   string
		pkg    string
		env    []string
		reused bool
	}{
		{name: "first build", pkg: msPkg},
		{name: "nothing changed", pkg: msPkg, reused: true},
		{name: "version field changed", pkg: strings.Replace(msPkg, `"1.0.0"`, `"1.0.1"`, 1), reused: true},
		{name: "install settings changed", pkg: msPkg, env: []string{"NPM_CONFIG_OMIT=dev"}},
		{name: "same settings again", pkg: msPkg, env: []string{"NPM_CONFIG_OMIT=dev"}, reused: true},
	}
	for _, st := range steps {
		b, out := newBuild(t, map[string]string{"package.json": st.pkg, "package-lock.json": msLock}, st.env)
		b.Cache = cache
		if err := node.New().Build(t.Context(), b); err != nil {
			t.Fatalf("%s: Build: %v\n%s", st.name, err, out)
		}
		if got := strings.Contains(out.String(), "       Lockfile unchanged: reusing node_modules\n"); got != st.reused {
			t.Fatalf("%s: reused=%v, want %v\n%s", st.name, got, st.reused, out)
		}
		if _, err := os.Stat(filepath.Join(b.Src, "node_modules", "ms", "index.js")); err != nil {
			t.Fatalf("%s: ms not installed: %v", st.name, err)
		}
		if !st.reused && !strings.Contains(out.String(), "       npm ci --no-audit --no-fund --prefer-offline\n") {
			t.Fatalf("%s: npm ci did not run:\n%s", st.name, out)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(cache, "npm")); err != nil || len(entries) == 0 {
		t.Fatalf("npm's cache is not in the app's build cache: %v", err)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"package.json", map[string]string{"package.json": "{}"}, true},
		{"only js files", map[string]string{"server.js": ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newBuild(t, tt.files, nil)
			if got, err := node.New().Detect(b.Src); got != tt.want || err != nil {
				t.Fatalf("Detect=%v, %v, want %v", got, err, tt.want)
			}
		})
	}
}

// newBuild returns a Build of a fresh source dir holding files; a name
// ending in @ is a symlink to the content.
func newBuild(t *testing.T, files map[string]string, env []string) (*buildpacks.Build, *bytes.Buffer) {
	t.Helper()
	src := t.TempDir()
	for name, content := range files {
		path := filepath.Join(src, filepath.FromSlash(strings.TrimSuffix(name, "@")))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if strings.HasSuffix(name, "@") {
			err = os.Symlink(content, path)
		} else {
			err = os.WriteFile(path, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	return &buildpacks.Build{
		Src: src, Cache: t.TempDir(), Env: env,
		Out: buildpacks.NewOutput(&out), Processes: map[string]string{},
	}, &out
}

// pathWith returns a PATH dir that holds only the host's tools named.
func pathWith(t *testing.T, tools ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// hostNodeMajor is the major version of the host's node, e.g. "20".
func hostNodeMajor(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".")
	return major
}
