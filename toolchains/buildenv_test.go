package toolchains_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains/cnb"
)

// serverSecret is a variable of the server's environment that no build
// may see.
const serverSecret = "NUA_SECRET_TEST"

// TestBuildEnv builds, with the real tools, an app of each toolchain whose
// build hands its environment to a program of the app's (a build script, a
// PEP 517 backend, a Nix expression, nua-cnb): none sees a variable of the
// server's, HOME and TMPDIR are in the app's cache (a Nix builder's TMPDIR
// is Nix's own build dir), and the app's config
// reaches the toolchains that pass it on.
func TestBuildEnv(t *testing.T) {
	t.Setenv(serverSecret, "server-only")
	tests := []struct {
		name      string
		needs     string
		setup     func(t *testing.T, src, dump string) *buildpacks.Builder
		appConfig bool // whether the app's config reaches the tools
	}{
		{"Node.js", "npm", nodeEnvApp, true},
		{"Python", "python3", pythonEnvApp, true},
		{"Nix", "nix", nixEnvApp, false},
		{"Cloud Native Buildpacks", "cnb", cnbEnvApp, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			needTool(t, tt.needs)
			src := filepath.Join(t.TempDir(), "app")
			if err := os.Mkdir(src, 0o755); err != nil {
				t.Fatal(err)
			}
			dump := filepath.Join(t.TempDir(), "env")
			builder := tt.setup(t, src, dump)
			cache := t.TempDir()
			t.Cleanup(func() { builder.Remove(context.Background(), src) })
			var out bytes.Buffer
			config := []string{"NUA_TEST_ENV_DUMP=" + dump, "NUA_APP_VAR=from-config"}
			res, err := builder.Build(t.Context(), src, cache, config, nil, &out)
			if err != nil {
				t.Fatalf("Build: %v\n%s", err, out.String())
			}
			if res.Buildpack != tt.name {
				t.Fatalf("built by %s, want %s", res.Buildpack, tt.name)
			}
			if tt.name == "Nix" { // the expression wrote it into its output
				dump = filepath.Join(src, "result", "env")
			}
			env := readEnvDump(t, dump)
			t.Logf("the build saw HOME=%s TMPDIR=%s NUA_APP_VAR=%s", env["HOME"], env["TMPDIR"], env["NUA_APP_VAR"])
			if v, ok := env[serverSecret]; ok && v != "" {
				t.Errorf("the build saw the server's %s=%s", serverSecret, v)
			}
			dirs := []string{"HOME", "TMPDIR"}
			if tt.name == "Nix" { // its builders get the build dir Nix made for its nixbld user
				dirs = dirs[:1]
			}
			for _, k := range dirs {
				if !strings.HasPrefix(env[k], cache+string(os.PathSeparator)) {
					t.Errorf("%s=%q, want a dir in the app's cache %s", k, env[k], cache)
				}
			}
			if got := env["NUA_APP_VAR"] == "from-config"; got != tt.appConfig {
				t.Errorf("the app's config reached the tools: %v, want %v (NUA_APP_VAR=%q)", got, tt.appConfig, env["NUA_APP_VAR"])
			}
		})
	}
}

// readEnvDump reads KEY=VALUE entries separated by NUL bytes or newlines.
func readEnvDump(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the build left no environment dump: %v", err)
	}
	sep := "\n"
	if bytes.IndexByte(data, 0) >= 0 {
		sep = "\x00"
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(data), sep) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// nodeEnvApp is a Node.js app whose build script dumps its environment.
func nodeEnvApp(t *testing.T, src, _ string) *buildpacks.Builder {
	writeFiles(t, src, map[string]string{
		"package.json": `{"name": "envdump", "version": "1.0.0", "private": true, "scripts": {"build": "node dump.js", "start": "node dump.js"}}`,
		"dump.js": `const fs = require("fs");
fs.writeFileSync(process.env.NUA_TEST_ENV_DUMP, Object.entries(process.env).map(([k, v]) => k + "=" + v).join("\0"));
`,
	})
	return newBuilder()
}

// pythonEnvApp is a Python project whose build backend (the greet
// project's, wrapped) dumps its environment when pip builds the wheel.
func pythonEnvApp(t *testing.T, src, _ string) *buildpacks.Builder {
	if err := os.CopyFS(src, os.DirFS(filepath.Join("python", "testdata", "greet"))); err != nil {
		t.Fatal(err)
	}
	pyproject, err := os.ReadFile(filepath.Join(src, "pyproject.toml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, src, map[string]string{
		"Procfile":       "web: greet\n",
		"pyproject.toml": strings.Replace(string(pyproject), `build-backend = "wheelmaker"`, `build-backend = "envdump"`, 1),
		"_backend/envdump.py": `import os
import wheelmaker
from wheelmaker import *  # noqa: F401,F403 (the rest of the backend)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(os.environ["NUA_TEST_ENV_DUMP"], "w") as f:
        f.write("\0".join(k + "=" + v for k, v in os.environ.items()))
    return wheelmaker.build_wheel(wheel_directory, config_settings, metadata_directory)
`,
	})
	return newBuilder()
}

// nixEnvApp is a default.nix that reads variables of the nix command's
// environment (builtins.getEnv) into its output, result/env.
func nixEnvApp(t *testing.T, src, _ string) *buildpacks.Builder {
	writeFiles(t, src, map[string]string{"default.nix": fmt.Sprintf(`derivation {
  name = "envdump";
  system = "x86_64-linux";
  builder = "/bin/sh";
  secret = builtins.getEnv "%s";
  home = builtins.getEnv "HOME";
  tmp = builtins.getEnv "TMPDIR";
  appvar = builtins.getEnv "NUA_APP_VAR";
  args = [ "-c" ''
    /usr/bin/mkdir -p $out/bin
    /usr/bin/printf '%s=%%s\nHOME=%%s\nTMPDIR=%%s\nNUA_APP_VAR=%%s\n' "$secret" "$home" "$tmp" "$appvar" > $out/env
    /usr/bin/printf '#!/bin/sh\necho envdump\n' > $out/bin/web
    /usr/bin/chmod 555 $out/bin/web
  '' ];
}
`, serverSecret, serverSecret)})
	return newBuilder()
}

// cnbEnvApp is the CNB sample built through a nua-cnb that first dumps
// its environment.
func cnbEnvApp(t *testing.T, src, dump string) *buildpacks.Builder {
	if err := os.CopyFS(src, os.DirFS(filepath.Join(appsDir, "cnbapp"))); err != nil {
		t.Fatal(err)
	}
	helper, err := exec.LookPath(cnb.Helper)
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(t.TempDir(), cnb.Helper)
	script := fmt.Sprintf("#!/bin/sh\nenv -0 > '%s'\nexec '%s' \"$@\"\n", dump, helper)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tc := cnb.New()
	tc.Helper = wrapper
	tc.Trusted = func() ([]string, error) { return []string{"nua-cnb-builder:local"}, nil }
	return buildpacks.New([]buildpacks.Buildpack{tc}, buildpacks.WithTimeout(5*time.Minute))
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
