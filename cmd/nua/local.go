package main

import (
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"syscall"

	"github.com/nua-paas/nua/internal/adminsock"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/toolchains/docker"
	"github.com/nua-paas/nua/toolchains/static"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
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
	o.Extra = []*cli.Command{serverCommand(), serverRestoreCommand(), devCommand(), buildCommand(), warmCommand(), serveStaticCommand(), containerRunCommand(), containerReapCommand()}
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
			return static.Serve(c.Context, c.String("dir"), port)
		},
	}
}

// containerRunCommand runs one process of a Dockerfile app as a container,
// in the foreground under procman; its exit status is the container's.
func containerRunCommand() *cli.Command {
	return &cli.Command{
		Name: "container-run", Hidden: true, Usage: "run process TYPE of the slug in . as a container",
		ArgsUsage: "TYPE [-- COMMAND...]",
		Flags: []cli.Flag{
			&cli.Int64Flag{Name: "memory", Usage: "the container's memory limit in bytes (default 512 MiB)"},
			&cli.Float64Flag{Name: "cpu", Usage: "the container's CPU limit in cores (default 1)"},
			&cli.IntFlag{Name: "tasks", Usage: "the container's limit of processes and threads (default 256)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || !procman.ValidType(c.Args().First()) {
				return fmt.Errorf("container-run: want a process type")
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			cfg := docker.RunConfig{
				Type: c.Args().First(), Args: oneOff(c.Args().Tail()), Dir: ".", Env: os.Environ(),
				Stdout: os.Stdout, Stderr: os.Stderr,
				Reaper: []string{exe, "container-reap"},
				Limits: docker.Limits{Memory: c.Int64("memory"), CPU: c.Float64("cpu"), Tasks: c.Int("tasks")},
			}
			if len(cfg.Args) > 0 { // a one-off: its stdin, and a terminal if it has one
				cfg.Stdin = os.Stdin
				restore, err := terminal(&cfg)
				if err != nil {
					return err
				}
				defer restore()
			}
			code, err := docker.Run(c.Context, cfg)
			if err != nil {
				return err
			}
			if code != 0 {
				return commands.ExitStatus(code) // after restore, never os.Exit here
			}
			return nil
		},
	}
}

// terminal gives a one-off's container a terminal when this runner's
// stdin is one: the runner's goes raw, so that keys reach the container's
// unchanged, and its size follows the runner's (SIGWINCH).
func terminal(cfg *docker.RunConfig) (restore func(), err error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return func() {}, nil
	}
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	sizes := make(chan docker.Size, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	winch <- syscall.SIGWINCH // the first size
	go func() {
		for range winch {
			if w, h, err := term.GetSize(fd); err == nil {
				select {
				case sizes <- docker.Size{Width: w, Height: h}:
				default: // a size is pending; the next signal sends the latest
				}
			}
		}
	}()
	cfg.TTY, cfg.Sizes = true, sizes
	return func() {
		signal.Stop(winch)
		term.Restore(fd, state)
	}, nil
}

// oneOff is the command after the process type, without its "--".
func oneOff(args []string) []string {
	if len(args) > 0 && args[0] == "--" {
		return args[1:]
	}
	return args
}

// containerReapCommand removes a container once its stdin closes: the
// container-run that started it is gone.
func containerReapCommand() *cli.Command {
	return &cli.Command{
		Name: "container-reap", Hidden: true, Usage: "remove container ID when stdin closes",
		ArgsUsage: "ID",
		Action: func(c *cli.Context) error {
			return docker.Reap(".", c.Args().First(), os.Stdin)
		},
	}
}
