package buildpacks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/nua-paas/nua/internal/excerpt"
	"github.com/nua-paas/nua/procman"
)

// External buildpacks speak Heroku's buildpack API: bin/detect BUILD,
// bin/compile BUILD CACHE ENV_DIR and bin/release BUILD, run natively on
// the host in the build's sandbox (see Build.ToolEnv), each in its own
// process group under the build's time limit.

// Dirs of external buildpacks in the app's cache dir.
const (
	compileCacheDir = "buildpack-cache" // CACHE of bin/compile, shared by the app's buildpacks
	envDirName      = "env"             // ENV_DIR, in the build's tmp dir
)

// maxScriptOutput bounds what nua reads from bin/detect and bin/release.
const maxScriptOutput = 1 << 20

// buildExternal runs the buildpacks of list in order on the same build
// dir and merges their default process types, later ones winning. It
// returns the buildpacks' names joined for the release record.
func (bl *Builder) buildExternal(ctx context.Context, b *Build, list []Source, from string) (string, error) {
	b.Out.Step("Using buildpacks from %s", from)
	envDir, err := writeEnvDir(b)
	if err != nil {
		return "", err
	}
	cacheDir := filepath.Join(b.Cache, compileCacheDir)
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return "", fmt.Errorf("create buildpack cache: %w", err)
	}
	var names []string
	for _, s := range list {
		dir, err := bl.resolve(ctx, b, s)
		if err != nil {
			return "", err
		}
		name, err := detectExternal(ctx, b, dir, s)
		if err != nil {
			return "", err
		}
		names = append(names, name)
		b.Out.Step("%s app detected", name)
		if err := runScript(ctx, b, dir, s, "compile", nil, b.Src, cacheDir, envDir); err != nil {
			return "", err
		}
		if err := releaseExternal(ctx, b, dir, s); err != nil {
			return "", err
		}
	}
	return strings.Join(names, " + "), nil
}

// detectExternal runs bin/detect: exit 0 means the buildpack builds the
// app, and its first line of output names it.
func detectExternal(ctx context.Context, b *Build, dir string, s Source) (string, error) {
	var stdout bytes.Buffer
	err := runScript(ctx, b, dir, s, "detect", &stdout, b.Src)
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return "", fmt.Errorf("buildpack %s: bin/detect: the buildpack does not build this app (exit status %d)", s, exit.ExitCode())
	}
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(strings.TrimSpace(stdout.String()), "\n")
	if name := printable(strings.TrimSpace(line)); name != "" {
		return name, nil
	}
	return defaultName(s), nil
}

// releaseExternal runs bin/release, if the buildpack has one, and sets its
// default process types over those of earlier buildpacks.
func releaseExternal(ctx context.Context, b *Build, dir string, s Source) error {
	if _, err := os.Stat(filepath.Join(dir, "bin", "release")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var stdout bytes.Buffer
	if err := runScript(ctx, b, dir, s, "release", &stdout, b.Src); err != nil {
		return err
	}
	procs, err := parseRelease(stdout.Bytes())
	if err != nil {
		return fmt.Errorf("buildpack %s: bin/release: %w", s, err)
	}
	for typ, cmd := range procs {
		b.Processes[typ] = cmd
	}
	return nil
}

// releaseInfo is the YAML bin/release prints.
type releaseInfo struct {
	DefaultProcessTypes map[string]string `yaml:"default_process_types"`
}

// parseRelease parses bin/release's YAML and checks its process types.
func parseRelease(out []byte) (map[string]string, error) {
	if len(out) > maxScriptOutput {
		return nil, fmt.Errorf("output is larger than %d bytes", maxScriptOutput)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil
	}
	var info releaseInfo
	if err := yaml.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("output is not the YAML of a release (default_process_types): %w", err)
	}
	for typ, cmd := range info.DefaultProcessTypes {
		if !procman.ValidType(typ) {
			return nil, fmt.Errorf("process type %q: use letters, digits, - and _", excerpt.Of(typ))
		}
		if strings.TrimSpace(cmd) == "" || strings.ContainsAny(cmd, "\x00\n\r") {
			return nil, fmt.Errorf("process type %s: %q is not a command line", typ, excerpt.Of(cmd))
		}
	}
	return info.DefaultProcessTypes, nil
}

// runScript runs bin/NAME of the buildpack in dir with args. Its stderr,
// and its stdout unless the caller takes it, go to the build output.
func runScript(ctx context.Context, b *Build, dir string, s Source, name string, stdout io.Writer, args ...string) error {
	relay := b.Out.Relay()
	defer relay.Flush()
	cmd := b.Command(ctx, filepath.Join(dir, "bin", name), args...)
	cmd.Stdout, cmd.Stderr = relay, relay
	if stdout != nil {
		cmd.Stdout = &limitedWriter{w: stdout, n: maxScriptOutput + 1}
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("buildpack %s: bin/%s: %w", s, name, err)
	}
	return nil
}

// writeEnvDir writes the app's config into a new ENV_DIR: one file per
// variable, named by the key and holding the value.
func writeEnvDir(b *Build) (string, error) {
	dir := filepath.Join(b.Tmp, envDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create ENV_DIR: %w", err)
	}
	for _, kv := range b.Env {
		k, v, ok := cutEnv(kv)
		if !ok || !envKeyRE.MatchString(k) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			return "", fmt.Errorf("write ENV_DIR: %w", err)
		}
	}
	return dir, nil
}

var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,255}$`)

// defaultName names a buildpack whose bin/detect printed nothing: the last
// element of its URL or path.
func defaultName(s Source) string {
	name := strings.TrimSuffix(filepath.Base(strings.TrimRight(s.URL, "/")), ".git")
	if name = printable(name); name == "" {
		return "Buildpack"
	}
	return name
}

// printable keeps the printable characters of s, at most 60.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60])
	}
	return s
}

// limitedWriter writes at most n bytes to w and drops the rest.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		q := p
		if len(q) > l.n {
			q = q[:l.n]
		}
		l.n -= len(q)
		if _, err := l.w.Write(q); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
