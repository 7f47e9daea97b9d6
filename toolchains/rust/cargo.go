package rust

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/internal/excerpt"
)

// binary is an executable cargo built.
type binary struct {
	name string // the bin target's name
	path string // where cargo wrote it
}

// build runs cargo build --release and returns the binaries it built.
func build(ctx context.Context, b *buildpacks.Build, rt rust) ([]binary, error) {
	args := []string{"build", "--release", "--message-format=json-render-diagnostics"}
	if fi, err := os.Stat(filepath.Join(b.Src, "Cargo.lock")); err == nil && fi.Mode().IsRegular() {
		args = append(args, "--locked")
	} else {
		b.Out.Warn("No Cargo.lock: dependencies resolve afresh on each build; commit Cargo.lock")
	}
	target, work := filepath.Join(b.Cache, cacheTarget), filepath.Join(b.Cache, cacheSrc)
	b.Out.Step("Compiling with cargo %s", strings.Join(args[:2], " "))
	if entries, err := os.ReadDir(filepath.Join(target, "release")); err == nil && len(entries) > 0 {
		b.Out.Info("Reusing the target dir of the previous build: only changes recompile")
	}
	skip := func(rel string) bool { return rel == "target" || rel == ".git" }
	if err := syncTree(work, b.Src, skip); err != nil {
		return nil, err
	}
	start := time.Now()
	cmd := b.Command(ctx, rt.cargo, args...)
	cmd.Dir = work
	cmd.Env = b.ToolEnv(append(appCargoVars(b),
		"PATH="+filepath.Join(rt.sysroot, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"RUSTC="+rt.rustc,
		"CARGO_HOME="+filepath.Join(b.Cache, cacheHome),
		"CARGO_TARGET_DIR="+target,
		"CARGO_TERM_COLOR=never",
		"CARGO_TERM_PROGRESS_WHEN=never",
	)...)
	firstErr := &errorLine{w: b.Out.Indent()}
	cmd.Stdout, cmd.Stderr = nil, firstErr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cargo build: %w", err)
	}
	bins, perr := readArtifacts(stdout)
	if err := cmd.Wait(); err != nil {
		if line := firstErr.first(); line != "" {
			return nil, fmt.Errorf("cargo build: %s (%w)", line, err)
		}
		return nil, fmt.Errorf("cargo build: %w", err)
	}
	if perr != nil {
		return nil, fmt.Errorf("cargo build: read its messages: %w", perr)
	}
	b.Out.Info("Compiled in %s", time.Since(start).Round(10*time.Millisecond))
	return bins, nil
}

// appCargoVars are the app's config vars that say how cargo compiles.
func appCargoVars(b *buildpacks.Build) []string {
	var vars []string
	for _, k := range []string{"RUSTFLAGS", "CARGO_NET_OFFLINE", "CARGO_PROFILE_RELEASE_DEBUG", "CARGO_PROFILE_RELEASE_LTO", "CARGO_BUILD_JOBS"} {
		if v, ok := b.Getenv(k); ok {
			vars = append(vars, k+"="+v)
		}
	}
	return vars
}

// message is the part of cargo's JSON messages nua reads.
type message struct {
	Reason string `json:"reason"`
	Target struct {
		Name string   `json:"name"`
		Kind []string `json:"kind"`
	} `json:"target"`
	Executable *string `json:"executable"`
}

// readArtifacts reads cargo's JSON messages and returns the bin targets
// it built, sorted by name. It reads r to the end.
func readArtifacts(r io.Reader) ([]binary, error) {
	var bins []binary
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m message
		if json.Unmarshal(sc.Bytes(), &m) != nil || m.Reason != "compiler-artifact" || m.Executable == nil {
			continue
		}
		if slices.Contains(m.Target.Kind, "bin") && !slices.ContainsFunc(bins, func(b binary) bool { return b.name == m.Target.Name }) {
			bins = append(bins, binary{name: m.Target.Name, path: *m.Executable})
		}
	}
	err := sc.Err()
	io.Copy(io.Discard, r)
	slices.SortFunc(bins, func(a, b binary) int { return strings.Compare(a.name, b.name) })
	return bins, err
}

// installBins copies the binaries into the slug's bin directory.
func installBins(b *buildpacks.Build, bins []binary) error {
	if len(bins) == 0 {
		return nil
	}
	dir := filepath.Join(b.Src, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("install binaries: %w", err)
	}
	var names []string
	for _, bin := range bins {
		if !validName(bin.name) {
			return fmt.Errorf("install binaries: %q is not a file name", bin.name)
		}
		to := filepath.Join(dir, bin.name)
		if err := os.RemoveAll(to); err != nil {
			return fmt.Errorf("install binaries: %w", err)
		}
		if err := buildpacks.CopyFile(to, bin.path, 0o755); err != nil {
			return fmt.Errorf("install binaries: %w", err)
		}
		names = append(names, "bin/"+bin.name)
	}
	b.Out.Info("Installed %s", strings.Join(names, ", "))
	return nil
}

func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// errorLine passes cargo's stderr on and remembers its first "error"
// line and the location under it, which name what failed (e.g. the line
// of a Cargo.toml that does not parse).
type errorLine struct {
	w    io.Writer
	mu   sync.Mutex
	line string // the first error line
	loc  string // the "--> file:line:col" under it
	done bool
	buf  []byte
}

func (e *errorLine) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.done {
		e.buf = append(e.buf, p...)
		for !e.done {
			i := slices.Index(e.buf, '\n')
			if i < 0 {
				break
			}
			line := strings.TrimSpace(string(e.buf[:i]))
			e.buf = e.buf[i+1:]
			e.see(line)
		}
		if len(e.buf) > 64<<10 {
			e.buf = nil
		}
	}
	return e.w.Write(p)
}

func (e *errorLine) see(l string) {
	switch {
	case e.line == "":
		if strings.HasPrefix(l, "error") {
			e.line = excerpt.Of(l)
		}
	case l == "":
	default:
		if loc, ok := strings.CutPrefix(l, "-->"); ok {
			e.loc = excerpt.Of(strings.TrimSpace(loc))
		}
		e.done, e.buf = true, nil
	}
}

// first returns the first error and its location, or "".
func (e *errorLine) first() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loc != "" {
		return e.line + " at " + e.loc
	}
	return e.line
}
