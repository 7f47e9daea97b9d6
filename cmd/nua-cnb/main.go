// Command nua-cnb builds apps with Cloud Native Buildpacks through the
// pack library, for nua's cnb build backend. It is a program of its own
// so that the daemon does not carry the pack library: nua runs it for
// each build, and its memory is freed when the build ends.
//
//	nua-cnb build --app DIR --image NAME --cache DIR [--builder NAME]
//	              [--trust IMAGE]... [--any-builder] [--buildpacks-dir DIR]
//	nua-cnb builder --config builder.toml --name NAME
//
// build reads the app's config, a JSON object of strings, on stdin. Both
// talk to the Docker Engine API at --docker-host (default $DOCKER_HOST).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := app().RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "nua-cnb:", err)
		os.Exit(1)
	}
}

func app() *cli.App {
	host := &cli.StringFlag{Name: "docker-host", EnvVars: []string{"DOCKER_HOST"}, Value: "unix:///var/run/docker.sock", Usage: "the Docker Engine API address"}
	return &cli.App{
		Name:  "nua-cnb",
		Usage: "build apps with Cloud Native Buildpacks, for nua",
		Commands: []*cli.Command{
			{
				Name:      "build",
				Usage:     "build the app in --app into image --image; the app's config is a JSON object on stdin",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					host,
					&cli.StringFlag{Name: "app", Required: true, Usage: "the app's source dir"},
					&cli.StringFlag{Name: "image", Required: true, Usage: "the image to build"},
					&cli.StringFlag{Name: "cache", Required: true, Usage: "the app's cache dir"},
					&cli.StringFlag{Name: "builder", Usage: "the builder image; default: the one project.toml names"},
					&cli.StringSliceFlag{Name: "trust", Usage: "a builder `IMAGE` the operator trusts (repeatable); a build with another fails"},
					&cli.BoolFlag{Name: "any-builder", Usage: "trust every builder on the engine (a build on a laptop)"},
					&cli.StringFlag{Name: "buildpacks-dir", Usage: "the only `DIR` project.toml's buildpacks may come from by path; none: no path"},
				},
				Action: func(c *cli.Context) error {
					env, err := readEnv(os.Stdin)
					if err != nil {
						return err
					}
					return build(c.Context, buildRequest{
						Host: c.String("docker-host"), App: c.String("app"), Image: c.String("image"),
						Cache: c.String("cache"), Builder: c.String("builder"), Env: env,
						Trusted: c.StringSlice("trust"), AnyBuilder: c.Bool("any-builder"), BuildpacksDir: c.String("buildpacks-dir"),
					}, c.App.Writer)
				},
			},
			{
				Name:      "builder",
				Usage:     "create builder image --name from a pack builder.toml (local buildpacks and lifecycle, images already present)",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					host,
					&cli.StringFlag{Name: "config", Required: true, Usage: "the builder.toml"},
					&cli.StringFlag{Name: "name", Required: true, Usage: "the builder image to create"},
					&cli.StringSliceFlag{Name: "label", Usage: "a `KEY=VALUE` label of the builder image (repeatable)"},
				},
				Action: func(c *cli.Context) error {
					labels := map[string]string{}
					for _, kv := range c.StringSlice("label") {
						k, v, ok := strings.Cut(kv, "=")
						if !ok || k == "" {
							return fmt.Errorf("--label %q: want KEY=VALUE", kv)
						}
						labels[k] = v
					}
					return createBuilder(c.Context, c.String("docker-host"), c.String("config"), c.String("name"), labels, c.App.Writer)
				},
			},
		},
	}
}
