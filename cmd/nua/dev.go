package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/dev"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func devCommand() *cli.Command {
	return &cli.Command{
		Name:      "dev",
		Usage:     "run the app's Procfile here, as foreman does (no server needed)",
		ArgsUsage: "[DIR]",
		Description: "Runs every Procfile process type but release, once each (or as -m says), in DIR\n" +
			"(default: the Procfile's directory, else .). PORT = base + 100 × the entry's index in the\n" +
			"Procfile + the instance number - 1 (web.1 5000, web.2 5001, worker.1 5100); PS=web.1.\n" +
			"The environment is yours plus .env (or the -e files) plus PORT and PS. Ctrl-C stops\n" +
			"everything (SIGTERM, then SIGKILL after --timeout); a second Ctrl-C kills at once. When a\n" +
			"process exits, all stop and nua dev fails if it failed; with --restart it is restarted.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "procfile", Aliases: []string{"f"}, Usage: "the Procfile (default: DIR/Procfile)"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "env files, comma-separated, each must exist (default: DIR/.env if present)"},
			&cli.StringFlag{Name: "formation", Aliases: []string{"m"}, Usage: "instances per type, e.g. web=2,worker=1 or all=1,worker=0; unnamed types run 0 (default: 1 of each)"},
			&cli.IntFlag{Name: "port", Aliases: []string{"p"}, Usage: "base port (default: $PORT from .env or the environment, else 5000)"},
			&cli.BoolFlag{Name: "restart", Aliases: []string{"r"}, Usage: "restart a process that exits (with a backoff) instead of stopping all"},
			&cli.StringFlag{Name: "timeout", Aliases: []string{"t"}, Value: "5s", Usage: "grace between SIGTERM and SIGKILL on stop (seconds, or a duration like 500ms)"},
		},
		Action: runDev,
	}
}

func runDev(c *cli.Context) error {
	if c.NArg() > 1 {
		return fmt.Errorf("%w: usage: nua dev [flags] [DIR]", nua.ErrInvalid)
	}
	cfg := dev.Config{
		Dir: c.Args().First(), Procfile: c.String("procfile"), Formation: c.String("formation"),
		Port: c.Int("port"), Restart: c.Bool("restart"), Environ: os.Environ(), Out: c.App.Writer,
		Color:  colorOutput(c),
		Logger: slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if c.IsSet("formation") && cfg.Formation == "" {
		return fmt.Errorf("%w: -m: give TYPE=N pairs, e.g. -m web=2,worker=1", nua.ErrInvalid)
	}
	if c.IsSet("port") && (cfg.Port < 1 || cfg.Port > 65535) {
		return fmt.Errorf("%w: -p %d: give a port between 1 and 65535", nua.ErrInvalid, cfg.Port)
	}
	var err error
	if cfg.StopTimeout, err = parseTimeout(c.String("timeout")); err != nil {
		return err
	}
	if c.IsSet("env") {
		if cfg.EnvFiles, err = envFiles(c.StringSlice("env")); err != nil {
			return err
		}
	}
	ctx, kill, stop := devSignals(c.Context)
	defer stop()
	cfg.Kill = kill
	return dev.Run(ctx, cfg)
}

// parseTimeout reads --timeout: whole seconds (foreman's form) or a Go
// duration.
func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if n, nerr := strconv.Atoi(s); nerr == nil {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d <= 0 || d > time.Hour {
		return 0, fmt.Errorf("%w: --timeout %q: give seconds (5) or a duration (500ms) up to 1h", nua.ErrInvalid, s)
	}
	return d, nil
}

func envFiles(given []string) ([]string, error) {
	var files []string
	for _, f := range given {
		if f = strings.TrimSpace(f); f == "" {
			return nil, fmt.Errorf("%w: -e: give env file paths, comma-separated", nua.ErrInvalid)
		}
		files = append(files, f)
	}
	return files, nil
}

// colorOutput reports whether the output is a terminal and NO_COLOR is
// not set (https://no-color.org).
func colorOutput(c *cli.Context) bool {
	f, ok := c.App.Writer.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}

// devSignals returns a context done on the first SIGINT or SIGTERM (or
// when parent is) and a channel closed on the second.
func devSignals(parent context.Context) (context.Context, <-chan struct{}, func()) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(parent)
	kill, done := make(chan struct{}), make(chan struct{})
	go func() {
		for _, fire := range []func(){cancel, func() { close(kill) }} {
			select {
			case <-sig:
				fire()
			case <-done:
				return
			}
		}
	}()
	return ctx, kill, func() {
		signal.Stop(sig)
		close(done)
		cancel()
	}
}
