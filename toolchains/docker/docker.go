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

	"github.com/nua-paas/nua/buildpacks"
)

var (
	_ buildpacks.Buildpack      = (*Toolchain)(nil)
	_ buildpacks.Backend        = (*Toolchain)(nil)
	_ buildpacks.Placer         = (*Toolchain)(nil)
	_ buildpacks.Remover        = (*Toolchain)(nil)
	_ buildpacks.ProcessWrapper = (*Toolchain)(nil)
	_ buildpacks.OneOffWrapper  = (*Toolchain)(nil)
)

// ManifestFile is the file in a slug that says which image runs it.
const ManifestFile = ".nua-container.json"

// Manifest is what a slug built from a Dockerfile records for its runner.
type Manifest struct {
	Host  string `json:"host"`  // the Docker Engine API address
	Image string `json:"image"` // the image ID
	// Commands are the Procfile's commands, run in the container with
	// /bin/sh -c; a type without one runs the image's own command.
	Commands map[string]string `json:"commands,omitempty"`
}

// Toolchain builds apps that have a Dockerfile.
type Toolchain struct {
	// Host is the Docker Engine API address; "" means $DOCKER_HOST, else
	// DefaultHost.
	Host string
}

// New returns the Dockerfile backend.
func New() *Toolchain { return &Toolchain{} }

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

func (t *Toolchain) host() string {
	switch {
	case t.Host != "":
		return t.Host
	case os.Getenv("DOCKER_HOST") != "":
		return os.Getenv("DOCKER_HOST")
	}
	return DefaultHost
}

// Available reports whether a Docker Engine API answers.
func (t *Toolchain) Available(ctx context.Context) error {
	c, err := newClient(t.host())
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
		return fmt.Errorf("no Docker Engine API answers at %s (%v): run Docker, or `podman system service`, and point DOCKER_HOST at it", t.host(), err)
	}
	return nil
}

// runCommand is the process command of every type: the runner reads the
// rest from the slug's manifest.
func runCommand(typ string) string { return "exec nua container-run " + typ }

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
	m := Manifest{Host: t.host(), Image: id}
	if err := writeManifest(b.Src, m); err != nil {
		return err
	}
	b.Processes["web"] = runCommand("web")
	return nil
}

// WrapProcesses makes every process type run in a container: a Procfile
// command runs there with /bin/sh -c, the default web process runs the
// image's own command.
func (t *Toolchain) WrapProcesses(b *buildpacks.Build, procs map[string]string) (map[string]string, error) {
	m, err := readManifest(b.Src)
	if err != nil {
		return nil, err
	}
	m.Commands = map[string]string{}
	out := make(map[string]string, len(procs))
	for _, typ := range slices.Sorted(maps.Keys(procs)) {
		if cmd := procs[typ]; cmd != runCommand(typ) {
			m.Commands[typ] = cmd
		}
		out[typ] = runCommand(typ)
	}
	b.Out.Info("Each process runs in a container of image %s", shortID(m.Image))
	return out, writeManifest(b.Src, m)
}

// WrapOneOff runs a one-off command of a Dockerfile app's slug in a
// container of its image: `nua container-run run -- ARGV`.
func (t *Toolchain) WrapOneOff(slug string, argv []string) ([]string, bool) {
	if _, err := readManifest(slug); err != nil {
		return nil, false
	}
	return append([]string{"nua", "container-run", "run", "--"}, argv...), true
}

// Place tags the image after the release: nua/APP:vN.
func (t *Toolchain) Place(ctx context.Context, slug string) error {
	m, err := readManifest(slug)
	if err != nil {
		return nil // not a Dockerfile build
	}
	repo, tag, ok := releaseTag(slug)
	if !ok {
		return nil
	}
	c, err := newClient(m.Host)
	if err != nil {
		return err
	}
	return c.tag(ctx, m.Image, repo, tag)
}

// Remove removes the release's tag, and with it the image unless another
// release uses it.
func (t *Toolchain) Remove(ctx context.Context, slug string) error {
	m, err := readManifest(slug)
	if err != nil {
		return nil // not a Dockerfile build
	}
	c, err := newClient(m.Host)
	if err != nil {
		return err
	}
	if repo, tag, ok := releaseTag(slug); ok {
		if err := c.removeImage(ctx, repo+":"+tag); err != nil && !isStatus(err, 404) {
			return err
		}
	}
	c.removeImage(ctx, m.Image) // never tagged; refused while a release uses it
	return nil
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

func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", ManifestFile, err)
	}
	return nil
}

// readManifest reads the manifest of the slug in dir.
func readManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
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

// tarDir writes dir as a tar stream: the build context. Symlinks are kept
// as links, never followed; other special files are skipped.
func tarDir(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
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
