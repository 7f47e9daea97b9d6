// Command nua is the whole platform in one binary: `nua server` runs the
// daemon; every other command runs locally or on the server through its
// admin socket.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/runtime/sandbox"
)

func main() {
	// The daemon starts an app's code through here.
	sandbox.ServeHelper()
	// The first SIGINT or SIGTERM asks the command to stop gracefully; the
	// signals then get their default action back, so a second one ends nua
	// at once (the daemon's children go with it: procman's guards, Traefik's
	// parent-death signal). A command that handles the second itself, as
	// dev does, keeps it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(commands.Run(ctx, localOptions(), os.Args[1:]))
}
