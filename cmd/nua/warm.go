package main

import (
	"fmt"
	"time"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/toolchains"
	"github.com/urfave/cli/v2"
)

// warmCommand prepares the build caches every app shares (the Go standard
// library, compiled once): install.sh runs it before the first start, so
// that no first push pays for it. The server also warms them in the
// background at each start, which is quick once they are warm.
func warmCommand() *cli.Command {
	return &cli.Command{
		Name:  "warm",
		Usage: "prepare the build caches apps share (install.sh runs it; the server does too, in the background)",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("usage: nua warm [--data DIR]")
			}
			data := commands.DataDir(c)
			start := time.Now()
			b := buildpacks.New(toolchains.Builtin(toolchains.Config{GoBuildCache: goBuildCache(data)}))
			if err := b.Warm(c.Context); err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "-----> Build caches in %s ready in %s\n", data, time.Since(start).Round(100*time.Millisecond))
			return nil
		},
	}
}
