// Package cnb is the Cloud Native Buildpacks build backend: a repo with a
// project.toml (or the config NUA_BUILDER=cnb) is built into an image by a
// CNB builder, through the pack library, and each process instance runs as
// a container of that image exactly as a Dockerfile app's does (package
// docker): published on 127.0.0.1 only, config as env, logs to procman.
// The process types are the image's own, from its launch metadata.
//
// The builder is the one CNB_BUILDER names, else project.toml's, and must
// be one the operator trusts (builders:trust); project.toml's buildpacks
// may not come from the server's disk outside the operator's buildpacks
// dir (see trust.go). The build runs in nua-cnb, a program of its own beside nua, so that the daemon
// does not carry the pack library.
package cnb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/toolchains/docker"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

var (
	_ buildpacks.Buildpack      = (*Toolchain)(nil)
	_ buildpacks.Backend        = (*Toolchain)(nil)
	_ buildpacks.Placer         = (*Toolchain)(nil)
	_ buildpacks.Remover        = (*Toolchain)(nil)
	_ buildpacks.ProcessWrapper = (*Toolchain)(nil)
	_ buildpacks.OneOffWrapper  = (*Toolchain)(nil)
)

// BuilderKey is the app config key that names the builder image, over
// project.toml's.
const BuilderKey = "CNB_BUILDER"

// Helper is the program that runs pack builds.
const Helper = "nua-cnb"

// metadataLabel is the image label where the lifecycle records the
// image's process types.
const metadataLabel = "io.buildpacks.build.metadata"

// launcher runs a command in a CNB image's environment; "--" makes it run
// the command as is, with no shell the image may lack.
var launcher = []string{"/cnb/lifecycle/launcher", "--"}

// Toolchain builds apps that have a project.toml.
type Toolchain struct {
	// Host is the Docker Engine API address; "" means $DOCKER_HOST, else
	// docker.DefaultHost.
	Host string
	// Helper is the nua-cnb program; "" looks beside the running program,
	// then on PATH.
	Helper string
	// Trusted lists the builder images the operator trusts
	// (builders:trust); a build with another fails. nil trusts none.
	Trusted func() ([]string, error)
	// AnyBuilder trusts every builder on the engine: for a build on a
	// laptop (nua build), whose user is its operator.
	AnyBuilder bool
	// BuildpacksDir is the only dir project.toml's buildpacks may come
	// from by path or file:// URL; "" allows none.
	BuildpacksDir string
	docker.Images
}

// New returns the Cloud Native Buildpacks backend.
func New() *Toolchain { return &Toolchain{Images: docker.Images{Kind: "cnb"}} }

// Name returns "Cloud Native Buildpacks".
func (*Toolchain) Name() string { return "Cloud Native Buildpacks" }

// Backend returns "cnb".
func (*Toolchain) Backend() string { return "cnb" }

// LooksFor says what Detect looks for.
func (*Toolchain) LooksFor() string { return "a project.toml (Cloud Native Buildpacks)" }

// Detect reports whether src has a project.toml.
func (*Toolchain) Detect(src string) (bool, error) {
	return srcfile.Has(src, "project.toml")
}

// Available reports whether nua-cnb is installed and a Docker Engine API
// answers. Whether the builder exists is known at the build.
func (t *Toolchain) Available(ctx context.Context) error {
	if _, err := t.helper(); err != nil {
		return err
	}
	return docker.Ping(ctx, docker.HostOr(t.Host))
}

// helper finds nua-cnb.
func (t *Toolchain) helper() (string, error) {
	if t.Helper != "" {
		return t.Helper, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), Helper)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	p, err := exec.LookPath(Helper)
	if err != nil {
		return "", fmt.Errorf("%s is not installed beside nua nor on PATH: install it with nua (make build, or go install github.com/nua-paas/nua/cmd/%s)", Helper, Helper)
	}
	return p, nil
}

// ImageName is the name the builds of the app whose cache dir is cache
// give their image: a stable name, so each build finds the previous one's
// layers.
func ImageName(cache string) string {
	sum := sha256.Sum256([]byte(cache))
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, strings.ToLower(filepath.Base(cache)))
	return "nua-build/" + strings.Trim(base, "-_.") + "-" + hex.EncodeToString(sum[:4])
}

// Build runs the pack build in nua-cnb, then records the image and its
// process types in the slug's manifest.
func (t *Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	helper, err := t.helper()
	if err != nil {
		return err
	}
	host := docker.HostOr(t.Host)
	name := ImageName(b.Cache)
	args := []string{"build", "--docker-host", host, "--app", b.Src, "--image", name, "--cache", filepath.Join(b.Cache, "cnb")}
	if builder, ok := b.Getenv(BuilderKey); ok && builder != "" {
		args = append(args, "--builder", builder)
	}
	trust, err := t.trustArgs()
	if err != nil {
		return err
	}
	args = append(args, trust...)
	env := map[string]string{}
	for _, kv := range b.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	in, err := json.Marshal(env)
	if err != nil {
		return err
	}
	b.Out.Step("Building the image with pack through the Docker API at %s", host)
	start := time.Now()
	cmd := exec.CommandContext(ctx, helper, args...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr lastLine
	cmd.Stdout, cmd.Stderr = b.Out.Indent(), io.MultiWriter(b.Out.Indent(), &stderr)
	cmd.Env = append(os.Environ(), "HOME="+b.Home, "TMPDIR="+b.Tmp)
	// Stopped gently, pack removes the build's containers itself.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Run(); err != nil {
		// nua-cnb's last line says what failed, as pack put it.
		if msg, ok := strings.CutPrefix(stderr.String(), Helper+": "); ok && ctx.Err() == nil {
			return errors.New(msg)
		}
		return fmt.Errorf("pack build: %w", err)
	}
	img, err := docker.InspectImage(ctx, host, name)
	if err != nil {
		return fmt.Errorf("read the built image: %w", err)
	}
	types, err := processTypes(img.Labels[metadataLabel])
	if err != nil {
		return err
	}
	if len(types) == 0 {
		return errors.New("the image defines no process types: the builder's buildpacks set none")
	}
	nua, err := t.Program()
	if err != nil {
		return err
	}
	m := docker.Manifest{Backend: t.Backend(), Host: host, Image: img.ID, BuildTag: name, Processes: map[string][]string{}, Launcher: launcher}
	for _, typ := range types {
		m.Processes[typ] = []string{"/cnb/process/" + typ}
		b.Processes[typ] = docker.RunCommand(nua, typ)
	}
	b.Out.Info("Built image %s in %s; process types: %s", strings.TrimPrefix(img.ID, "sha256:")[:12], time.Since(start).Round(10*time.Millisecond), strings.Join(types, ", "))
	return docker.WriteManifest(b, m)
}

// trustArgs are nua-cnb's flags that say which builders and buildpack
// dirs the operator trusts.
func (t *Toolchain) trustArgs() ([]string, error) {
	var args []string
	if t.BuildpacksDir != "" {
		args = append(args, "--buildpacks-dir", t.BuildpacksDir)
	}
	if t.AnyBuilder {
		return append(args, "--any-builder"), nil
	}
	if t.Trusted == nil {
		return args, nil
	}
	images, err := t.Trusted()
	if err != nil {
		return nil, fmt.Errorf("read the trusted builders: %w", err)
	}
	for _, img := range images {
		args = append(args, "--trust", img)
	}
	return args, nil
}

// processTypes reads the process types of the lifecycle's build metadata,
// sorted; a type nua could not name (procman.ValidType) is an error.
func processTypes(label string) ([]string, error) {
	if label == "" {
		return nil, fmt.Errorf("the image has no %s label: not built by a CNB lifecycle", metadataLabel)
	}
	var md struct {
		Processes []struct {
			Type string `json:"type"`
		} `json:"processes"`
	}
	if err := json.Unmarshal([]byte(label), &md); err != nil {
		return nil, fmt.Errorf("read the image's %s label: %w", metadataLabel, err)
	}
	var types []string
	for _, p := range md.Processes {
		if !procman.ValidType(p.Type) {
			return nil, fmt.Errorf("the image's process type %q is not a valid process type name", p.Type)
		}
		if !slices.Contains(types, p.Type) {
			types = append(types, p.Type)
		}
	}
	slices.Sort(types)
	return types, nil
}

// lastLine keeps the last non-empty line written to it.
type lastLine struct {
	buf  []byte // the unfinished line
	last string
}

func (l *lastLine) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(l.buf[:i])); line != "" {
			l.last = line
		}
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 { // no newline for long: keep the end
		l.buf = l.buf[len(l.buf)-(64<<10):]
	}
	return len(p), nil
}

// String is the last line, the unfinished one if it is not empty.
func (l *lastLine) String() string {
	if line := strings.TrimSpace(string(l.buf)); line != "" {
		return line
	}
	return l.last
}
