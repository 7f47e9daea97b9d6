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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(commands.Run(ctx, localOptions(), os.Args[1:]))
}
