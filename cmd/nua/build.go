package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/toolchains"
	"github.com/urfave/cli/v2"
)

// buildCommand builds an app on this machine the way a push builds it on
// the server: same detection, same buildpacks, same output.
func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build an app here as a push would, into a local slug dir (no server needed)",
		ArgsUsage: "[DIR]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: ".nua-build", Usage: "where the slug (OUT/slug) and the build cache (OUT/cache) go"},
			&cli.DurationFlag{Name: "timeout", Value: buildpacks.DefaultTimeout, Usage: "the build's time limit"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "config var KEY=VALUE the build sees (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return fmt.Errorf("usage: nua build [DIR] [--out DIR]")
			}
			src := c.Args().First()
			if src == "" {
				src = "."
			}
			return localBuild(c, src, c.String("out"))
		},
	}
}

// localBuild copies src (without .git and the output dir) into a fresh
// dir, builds it there with OUT/cache as the build cache and, when the
// build succeeds, makes it OUT/slug. A failed build leaves the previous
// slug as it was.
func localBuild(c *cli.Context, src, out string) error {
	var config map[string]string
	if vars := c.StringSlice("env"); len(vars) > 0 {
		var err error
		if config, err = nua.ParseConfigVars(vars); err != nil {
			return err
		}
	}
	src, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return fmt.Errorf("build: %s is not a directory", src)
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	work, err := os.MkdirTemp(out, ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	building := filepath.Join(work, "slug")
	if err := buildpacks.CopyTree(building, src, skipForBuild(src, out)); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// On a laptop its user is the operator: any builder on the engine, any
	// buildpack dir.
	builder := buildpacks.New(toolchains.Builtin(toolchains.Config{GoBuildCache: localGoCache(), Nua: exe, AnyBuilder: true, BuildpacksDir: "/"}),
		buildpacks.WithTimeout(c.Duration("timeout")), buildpacks.WithBuildpacksDir("/"))
	res, err := builder.Build(c.Context, building, filepath.Join(out, "cache"), envOf(config), nil, c.App.Writer) // a local build runs as its caller
	if err != nil {
		return err
	}
	slug := filepath.Join(out, "slug")
	if err := os.RemoveAll(slug); err != nil {
		return err
	}
	if err := os.Rename(building, slug); err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "-----> Built with %s: %s\n", res.Buildpack, slug)
	for _, typ := range res.Types {
		fmt.Fprintf(w, "       %s: %s\n", typ, res.Processes[typ])
	}
	return nil
}

// skipForBuild leaves .git and the output dir out of the copy of src.
func skipForBuild(src, out string) func(rel string) bool {
	outRel, err := filepath.Rel(src, out)
	inside := err == nil && outRel != ".." && !strings.HasPrefix(outRel, ".."+string(filepath.Separator))
	return func(rel string) bool {
		if rel == ".git" {
			return true
		}
		return inside && (rel == outRel || strings.HasPrefix(rel, outRel+string(filepath.Separator)))
	}
}

// localGoCache is the Go build cache of this machine's user: $GOCACHE, or
// Go's default, so a local build does not compile the standard library
// again.
func localGoCache() string {
	if d := os.Getenv("GOCACHE"); d != "" && d != "off" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "go-build")
	}
	return ""
}

func envOf(config map[string]string) []string {
	env := make([]string, 0, len(config))
	for k, v := range config {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}
