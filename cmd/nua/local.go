package main

import (
	"os"
	"os/user"
	"path/filepath"

	"github.com/nua-paas/nua/internal/adminsock"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/toolchains/static"
	"github.com/urfave/cli/v2"
)

// localOptions are the Local door's: daemon commands go to the server's
// admin socket in the data directory.
func localOptions() commands.Options {
	o := commands.Options{
		Door:    commands.Local,
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Forward: forward,
	}
	o.Extra = []*cli.Command{serverCommand(), devCommand(), buildCommand(), serveStaticCommand()}
	return o
}

// forward runs args on the server and returns its exit status.
func forward(c *cli.Context, args []string) (int, error) {
	who := "local"
	if u, err := user.Current(); err == nil {
		who = "local:" + u.Username
	}
	sock := filepath.Join(commands.DataDir(c), "nua.sock")
	return adminsock.Call(c.Context, sock, adminsock.Request{Args: args, User: who}, os.Stdin, os.Stdout, os.Stderr)
}

func serveStaticCommand() *cli.Command {
	return &cli.Command{
		Name: "serve-static", Hidden: true, Usage: "serve a static site's slug on $PORT",
		Flags: []cli.Flag{&cli.StringFlag{Name: "dir", Value: ".", Usage: "the site's directory"}},
		Action: func(c *cli.Context) error {
			port := os.Getenv("PORT")
			if port == "" {
				port = "5000"
			}
			return static.Serve(c.Context, c.String("dir"), ":"+port)
		},
	}
}
