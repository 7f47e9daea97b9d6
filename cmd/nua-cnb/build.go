package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	pubbldr "github.com/buildpacks/pack/builder"
	"github.com/buildpacks/pack/pkg/cache"
	"github.com/buildpacks/pack/pkg/client"
	"github.com/buildpacks/pack/pkg/image"
	"github.com/buildpacks/pack/pkg/logging"
	"github.com/buildpacks/pack/pkg/project"
	projecttypes "github.com/buildpacks/pack/pkg/project/types"
	"github.com/containerd/errdefs"
	"github.com/heroku/color"
	docker "github.com/moby/moby/client"
	"github.com/nua-paas/nua/toolchains/cnb"
)

// buildRequest is one build of an app.
type buildRequest struct {
	Host    string            // the Docker Engine API address
	App     string            // the source dir
	Image   string            // the image to build, e.g. nua-build/app
	Cache   string            // the app's CNB cache dir
	Builder string            // the builder image; "" = project.toml's
	Env     map[string]string // the app's config, given to the buildpacks
	// Trusted are the builder images the operator trusts; a build with
	// another fails, unless AnyBuilder (a build on a laptop).
	Trusted    []string
	AnyBuilder bool
	// BuildpacksDir is the only dir project.toml's buildpacks may come
	// from by path; "" allows none.
	BuildpacksDir string
}

// readEnv reads the app's config: a JSON object of strings.
func readEnv(r io.Reader) (map[string]string, error) {
	env := map[string]string{}
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&env); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read the app's config on stdin: %w", err)
	}
	return env, nil
}

// newClient returns a pack client on the engine at host, logging to w,
// and the engine's client.
func newClient(host string, w io.Writer) (*client.Client, *docker.Client, error) {
	color.Disable(true) // the output goes to git's remote: lines
	dc, err := docker.New(docker.WithHost(host))
	if err != nil {
		return nil, nil, fmt.Errorf("Docker host %s: %w", host, err)
	}
	pc, err := client.NewClient(client.WithLogger(logging.NewLogWithWriters(w, w)), client.WithDockerClient(dc))
	return pc, dc, err
}

// buildNetwork creates a bridge network for one build's containers, which
// pack would otherwise create itself and leave behind when the build is
// cancelled; remove removes it, cancelled or not.
func buildNetwork(ctx context.Context, dc *docker.Client) (name string, remove func(), err error) {
	b := make([]byte, 6)
	rand.Read(b)
	name = "nua-cnb-" + hex.EncodeToString(b)
	if _, err := dc.NetworkCreate(ctx, name, docker.NetworkCreateOptions{Driver: "bridge", Labels: map[string]string{"nua.build": "1"}}); err != nil {
		return "", nil, fmt.Errorf("create the build's network: %w", err)
	}
	return name, func() {
		ctx := context.WithoutCancel(ctx)
		for i := range 5 { // the last container may take a moment to leave it
			if _, err := dc.NetworkRemove(ctx, name, docker.NetworkRemoveOptions{}); err == nil {
				return
			}
			time.Sleep(time.Duration(i+1) * 100 * time.Millisecond)
		}
	}, nil
}

// build builds the app into r.Image with the builder r.Builder, else the
// one project.toml names. The builder must be on the engine already and is
// trusted: its lifecycle runs as one creator container, with the engine's
// socket. Both caches are directories in r.Cache, so they are the app's
// and go with it.
func build(ctx context.Context, r buildRequest, w io.Writer) error {
	var desc projecttypes.Descriptor
	pc, dc, err := newClient(r.Host, w)
	if err != nil {
		return err
	}
	if pt := filepath.Join(r.App, "project.toml"); exists(pt) {
		if desc, err = project.ReadProjectDescriptor(pt, logging.NewLogWithWriters(w, w)); err != nil {
			return fmt.Errorf("project.toml: %w", err)
		}
	}
	builder := r.Builder
	if builder == "" {
		builder = desc.Build.Builder
	}
	if builder == "" {
		return errors.New("no builder named: set `builder` in project.toml's [io.buildpacks] table, or the CNB_BUILDER config")
	}
	for _, d := range []string{"build", "launch", "pack-home"} {
		if err := os.MkdirAll(filepath.Join(r.Cache, d), 0o755); err != nil {
			return err
		}
	}
	if os.Getenv("PACK_HOME") == "" {
		os.Setenv("PACK_HOME", filepath.Join(r.Cache, "pack-home"))
	}
	fmt.Fprintf(w, "Builder: %s\n", builder)
	if !r.AnyBuilder {
		if err := cnb.CheckBuilder(builder, r.Trusted); err != nil {
			return err
		}
	}
	if err := checkProject(desc, r.App, r.BuildpacksDir); err != nil {
		return err
	}
	// The builder's lifecycle runs with the engine's socket: only one the
	// operator put on the engine, never one a push makes it pull.
	if _, err := dc.ImageInspect(ctx, builder); errdefs.IsNotFound(err) {
		return fmt.Errorf("builder %s is not on this server: nua builds only with builders installed on its engine (docker pull %s, or nua-cnb builder); or name one with the CNB_BUILDER config", builder, builder)
	} else if err != nil {
		return fmt.Errorf("builder %s: %w", builder, err)
	}
	network, removeNetwork, err := buildNetwork(ctx, dc)
	if err != nil {
		return err
	}
	defer removeNetwork()
	err = pc.Build(ctx, client.BuildOptions{
		AppPath:                  r.App,
		Image:                    r.Image,
		Builder:                  builder,
		Env:                      r.Env,
		DockerHost:               r.Host,
		PullPolicy:               image.PullNever,
		TrustBuilder:             func(string) bool { return true },
		ProjectDescriptor:        desc,
		ProjectDescriptorBaseDir: r.App,
		ContainerConfig:          client.ContainerConfig{Network: network},
		Cache: cache.CacheOpts{
			Build: cache.CacheInfo{Format: cache.CacheBind, Source: filepath.Join(r.Cache, "build")},
			// A launch cache is a volume; an absolute source makes it
			// the app's directory instead.
			Launch: cache.CacheInfo{Format: cache.CacheVolume, Source: filepath.Join(r.Cache, "launch")},
		},
	})
	if err != nil {
		return fmt.Errorf("pack build with %s: %w", builder, err)
	}
	return nil
}

// checkProject checks the buildpacks project.toml adds to the builder
// (cnb.CheckBuildpackLocator), each by the locator pack makes of it.
func checkProject(desc projecttypes.Descriptor, app, dir string) error {
	for _, group := range [][]projecttypes.Buildpack{desc.Build.Buildpacks, desc.Build.Pre.Buildpacks, desc.Build.Post.Buildpacks} {
		for _, bp := range group {
			if bp.URI == "" && bp.ID != "" && bp.Script.Inline != "" {
				continue // an inline script: the app's own code
			}
			locator := bp.URI
			if locator == "" && bp.ID != "" {
				locator = bp.ID
				if bp.Version != "" {
					locator += "@" + bp.Version
				}
			}
			if locator == "" {
				continue // pack refuses it
			}
			if err := cnb.CheckBuildpackLocator(locator, app, dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// createBuilder creates builder image name, with labels, from the
// builder.toml at config, its relative paths taken from the file's
// directory.
func createBuilder(ctx context.Context, host, config, name string, labels map[string]string, w io.Writer) error {
	pc, _, err := newClient(host, w)
	if err != nil {
		return err
	}
	cfg, warns, err := pubbldr.ReadConfig(config)
	if err != nil {
		return err
	}
	for _, warn := range warns {
		fmt.Fprintln(w, "warning:", warn)
	}
	dir, err := filepath.Abs(filepath.Dir(config))
	if err != nil {
		return err
	}
	return pc.CreateBuilder(ctx, client.CreateBuilderOptions{
		RelativeBaseDir: dir,
		BuilderName:     name,
		Labels:          labels,
		Config:          cfg,
		PullPolicy:      image.PullNever,
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
