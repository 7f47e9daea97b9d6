// Package docker is the Dockerfile build backend. A repo with a Dockerfile
// is built into an image through the Docker Engine API (Docker, or podman's
// compatible service, at DOCKER_HOST); each process instance then runs as a
// container under procman, through `nua container-run TYPE`, which publishes
// the instance's PORT on 127.0.0.1 only, passes the app's config as env,
// streams the container's output to procman's logs and removes the
// container when the process stops, however it stops.
//
// nua speaks the few API calls it needs itself (see api.go) rather than
// linking the Docker SDK, which would add its many modules to the binary.
package docker

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/runtime/sandbox"
)

var (
	_ buildpacks.Buildpack      = (*Toolchain)(nil)
	_ buildpacks.Backend        = (*Toolchain)(nil)
	_ buildpacks.Placer         = (*Toolchain)(nil)
	_ buildpacks.Remover        = (*Toolchain)(nil)
	_ buildpacks.ProcessWrapper = (*Toolchain)(nil)
	_ buildpacks.OneOffWrapper  = (*Toolchain)(nil)
)

// slugLabel is the container label naming the slug a container runs, by
// its absolute path.
const slugLabel = "nua.slug"

// containersGone is how long Remove waits for a slug's containers to go
// before removing its image.
const containersGone = 30 * time.Second

// ManifestFile is the file in a slug's metadata dir (buildpacks.MetaDir)
// that says which image runs the slug: never a file in the slug, which
// its app writes.
const ManifestFile = "container.json"

// Manifest is what a slug built into an image records for its runner.
type Manifest struct {
	// Backend is the backend that built the image: "docker" (also when
	// empty) or "cnb".
	Backend string `json:"backend,omitempty"`
	Host    string `json:"host"`  // the Docker Engine API address
	Image   string `json:"image"` // the image ID
	// BuildTag is the name the build gave the image, if any: removed with
	// the image.
	BuildTag string `json:"build_tag,omitempty"`
	// Commands are the Procfile's commands, run in the container with
	// /bin/sh -c (after Launcher); a type without one runs its entry of
	// Processes, else the image's own command.
	Commands map[string]string `json:"commands,omitempty"`
	// Processes are the image's own process types, each the entrypoint
	// that runs it (a Cloud Native Buildpacks image's /cnb/process/TYPE).
	Processes map[string][]string `json:"processes,omitempty"`
	// Launcher is the entrypoint that runs a Procfile command or a
	// one-off command in the image's environment; empty runs it as is.
	Launcher []string `json:"launcher,omitempty"`
}

// backend is m's backend name.
func (m Manifest) backend() string {
	if m.Backend == "" {
		return "docker"
	}
	return m.Backend
}

// Toolchain builds apps that have a Dockerfile.
type Toolchain struct {
	// Host is the Docker Engine API address; "" means $DOCKER_HOST, else
	// DefaultHost.
	Host string
	Images
}

// New returns the Dockerfile backend.
func New() *Toolchain { return &Toolchain{Images: Images{Kind: "docker"}} }

// Name returns "Dockerfile".
func (*Toolchain) Name() string { return "Dockerfile" }

// Backend returns "docker".
func (*Toolchain) Backend() string { return "docker" }

// LooksFor says what Detect looks for.
func (*Toolchain) LooksFor() string { return "a Dockerfile (Docker)" }

// Detect reports whether src has a Dockerfile.
func (*Toolchain) Detect(src string) (bool, error) {
	fi, err := os.Lstat(filepath.Join(src, "Dockerfile"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat Dockerfile: %w", err)
	}
	return fi.Mode().IsRegular(), nil
}

func (t *Toolchain) host() string { return HostOr(t.Host) }

// HostOr is host, else $DOCKER_HOST, else DefaultHost.
func HostOr(host string) string {
	switch {
	case host != "":
		return host
	case os.Getenv("DOCKER_HOST") != "":
		return os.Getenv("DOCKER_HOST")
	}
	return DefaultHost
}

// Available reports whether a Docker Engine API answers.
func (t *Toolchain) Available(ctx context.Context) error { return Ping(ctx, t.host()) }

// Ping reports whether a Docker Engine API answers at host, with an
// error that says how to get one.
func Ping(ctx context.Context, host string) error {
	c, err := newClient(host)
	if err != nil {
		return err
	}
	if err := c.ping(ctx); err != nil {
		for errors.Unwrap(err) != nil { // "connect: no such file or directory"
			var op *net.OpError
			if errors.As(err, &op) {
				err = fmt.Errorf("%s: %w", op.Op, op.Err)
				break
			}
			err = errors.Unwrap(err)
		}
		return fmt.Errorf("no Docker Engine API answers at %s (%v): run Docker, or `podman system service`, and point DOCKER_HOST at it", host, err)
	}
	return nil
}

// RunCommand is the process command of every type: the runner, nua at
// path nua (absolute: never one the app's PATH finds), reads the rest from
// the slug's manifest.
func RunCommand(nua, typ string) string {
	return "exec " + buildpacks.ShellQuote(nua) + " container-run " + typ
}

// LimitedRunCommand is RunCommand with the container's limits: what the
// runtime launches in place of a release's RunCommand once a process type
// has limits of its own (RunCommand's containers get the defaults).
func LimitedRunCommand(nua, typ string, l Limits) string {
	return "exec " + buildpacks.ShellQuote(nua) + " container-run " + strings.Join(l.Args(), " ") + " " + typ
}

// Build builds the image and records it in the slug's manifest. The
// image's own command is the default web process.
func (t *Toolchain) Build(ctx context.Context, b *buildpacks.Build) error {
	c, err := newClient(t.host())
	if err != nil {
		return err
	}
	b.Out.Step("Building the image through the Docker API at %s", t.host())
	start := time.Now()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(b.Src, pw)) }()
	id, err := c.build(ctx, pr, map[string]string{"nua.build": "1"}, b.Out.Indent())
	pr.Close()
	if err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	b.Out.Info("Built image %s in %s", shortID(id), time.Since(start).Round(10*time.Millisecond))
	m := Manifest{Backend: t.Backend(), Host: t.host(), Image: id}
	if err := WriteManifest(b, m); err != nil {
		return err
	}
	nua, err := t.Program()
	if err != nil {
		return err
	}
	b.Processes["web"] = RunCommand(nua, "web")
	return nil
}

// Images is what the image backends share once an image is built: the
// processes run as containers of it, the release tag, the removal. Its
// methods act only on slugs whose manifest names Kind as their backend.
type Images struct {
	Kind string // "docker", "cnb"
	// Nua is the nua program that runs the containers, by absolute
	// path; "" is the running program.
	Nua string
}

// Program is the nua program that runs the containers, by absolute path.
func (im Images) Program() (string, error) {
	if im.Nua != "" {
		return im.Nua, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find nua's own program: %w", err)
	}
	return exe, nil
}

// manifest reads the manifest of slug, if Backend built it.
func (im Images) manifest(slug string) (Manifest, bool) {
	m, err := readManifest(slug)
	return m, err == nil && m.backend() == im.Kind
}

// WrapProcesses makes every process type run in a container: a Procfile
// command runs there with /bin/sh -c, a default process runs the image's
// own.
func (im Images) WrapProcesses(b *buildpacks.Build, procs map[string]string) (map[string]string, error) {
	m, ok := im.manifest(b.Src)
	if !ok {
		return nil, fmt.Errorf("no %s image manifest in the build", im.Kind)
	}
	nua, err := im.Program()
	if err != nil {
		return nil, err
	}
	m.Commands = map[string]string{}
	out := make(map[string]string, len(procs))
	for _, typ := range slices.Sorted(maps.Keys(procs)) {
		if cmd := procs[typ]; cmd != RunCommand(nua, typ) {
			m.Commands[typ] = cmd
		}
		out[typ] = RunCommand(nua, typ)
	}
	b.Out.Info("Each process runs in a container of image %s", shortID(m.Image))
	return out, WriteManifest(b, m)
}

// WrapOneOff runs a one-off command of the slug in a container of its
// image: `/path/to/nua container-run run -- ARGV`.
// LimitCommand runs process type typ of one of the slugs im built, when
// cmd is the command WrapProcesses gave it, in a container with limits l.
func (im Images) LimitCommand(slug, typ, cmd string, l sandbox.Limits) (string, bool) {
	if _, ok := im.manifest(slug); !ok {
		return "", false
	}
	nua, err := im.Program()
	if err != nil || cmd != RunCommand(nua, typ) {
		return cmd, true
	}
	return LimitedRunCommand(nua, typ, Limits{Memory: l.Memory, CPU: l.CPU, Tasks: l.Tasks}), true
}

func (im Images) WrapOneOff(slug string, argv []string) ([]string, bool) {
	if _, ok := im.manifest(slug); !ok {
		return nil, false
	}
	nua, err := im.Program()
	if err != nil {
		nua = "/nonexistent/nua" // fails the one-off; never a PATH lookup
	}
	return append([]string{nua, "container-run", "run", "--"}, argv...), true
}

// Place tags the image after the release: nua/APP:vN.
func (im Images) Place(ctx context.Context, slug string) error {
	m, ok := im.manifest(slug)
	repo, tag, tagged := releaseTag(slug)
	if !ok || !tagged {
		return nil
	}
	c, err := newClient(m.Host)
	if err != nil {
		return err
	}
	return c.tag(ctx, m.Image, repo, tag)
}

// Remove removes the release's tag, the build's tag while it still names
// this image, and the image unless another release uses it.
func (im Images) Remove(ctx context.Context, slug string) error {
	m, ok := im.manifest(slug)
	if !ok {
		return nil
	}
	c, err := newClient(m.Host)
	if err != nil {
		return err
	}
	waitContainersGone(ctx, c, slug)
	if repo, tag, ok := releaseTag(slug); ok {
		if err := c.removeImage(ctx, repo+":"+tag); err != nil && !isStatus(err, 404) {
			return err
		}
	}
	if m.BuildTag != "" {
		if ic, err := c.inspectImage(ctx, m.BuildTag); err == nil && ic.ID == m.Image {
			if err := c.removeImage(ctx, m.BuildTag); err != nil && !isStatus(err, 404) {
				return err
			}
		}
	}
	c.removeImage(ctx, m.Image) // never tagged; refused while a release uses it
	return nil
}

// waitContainersGone waits, up to containersGone, until no container runs
// slug: the engine refuses to remove an image a container uses, and the
// slug's last containers may still be on their way out.
func waitContainersGone(ctx context.Context, c *client, slug string) {
	abs, err := filepath.Abs(slug)
	if err != nil {
		return
	}
	for deadline := time.Now().Add(containersGone); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ids, err := c.listByLabel(ctx, slugLabel, abs); err != nil || len(ids) == 0 {
			return
		}
	}
}

// releaseTag derives the image tag of slug DATA/apps/APP/releases/vN.
func releaseTag(slug string) (repo, tag string, ok bool) {
	v := filepath.Base(slug)
	rels := filepath.Dir(slug)
	app := filepath.Base(filepath.Dir(rels))
	if filepath.Base(rels) != "releases" || !strings.HasPrefix(v, "v") || strings.Trim(v[1:], "0123456789") != "" || len(v) < 2 {
		return "", "", false
	}
	return "nua/" + app, v, true
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// WriteManifest writes the manifest of build b in its metadata dir. The
// app's processes read it (readable by all), nua alone writes it.
func WriteManifest(b *buildpacks.Build, m Manifest) error {
	if b.Meta == "" {
		return errors.New("write the image manifest: the build has no metadata dir")
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.Meta, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", ManifestFile, err)
	}
	if err := os.WriteFile(filepath.Join(b.Meta, ManifestFile), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", ManifestFile, err)
	}
	return nil
}

// readManifest reads the manifest of the slug in dir slug, from its
// metadata dir: never from the slug.
func readManifest(slug string) (Manifest, error) {
	var m Manifest
	abs, err := filepath.Abs(slug)
	if err != nil {
		return m, err
	}
	b, err := os.ReadFile(filepath.Join(buildpacks.MetaDir(abs), ManifestFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("read %s: %w", ManifestFile, err)
	}
	if m.Image == "" || m.Host == "" {
		return m, fmt.Errorf("read %s: no image or host", ManifestFile)
	}
	return m, nil
}

// tarDir writes dir as a tar stream: the build context, less what
// .dockerignore excludes (the Dockerfile and .dockerignore are always
// sent, as the docker CLI does). Symlinks are kept as links, never
// followed; other special files are skipped.
func tarDir(dir string, w io.Writer) error {
	ignore, err := readIgnore(dir)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		if ignore != nil && rel != "Dockerfile" && rel != ".dockerignore" {
			skip, err := ignore.MatchesOrParentMatches(filepath.ToSlash(rel))
			if err != nil {
				return err
			}
			if skip && d.IsDir() && !ignore.Exclusions() {
				return filepath.SkipDir // nothing below can come back
			}
			if skip {
				return nil
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		case !fi.Mode().IsRegular() && !fi.IsDir():
			return nil
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("pack build context: %w", err)
	}
	return tw.Close()
}

// readIgnore reads dir's .dockerignore; nil when there is none.
func readIgnore(dir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return pm, nil
}
