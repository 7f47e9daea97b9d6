package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/internal/adminsock"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/proxy"
	"github.com/nua-paas/nua/receiver"
	"github.com/nua-paas/nua/sshd"
	"github.com/nua-paas/nua/store"
	"github.com/nua-paas/nua/toolchains"
	"github.com/urfave/cli/v2"
)

func serverCommand() *cli.Command {
	return &cli.Command{
		Name:  "server",
		Usage: "run the nua daemon: SSH server, builds, processes and Traefik",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ssh-addr", Value: ":2222", Usage: "SSH listen address"},
			&cli.StringFlag{Name: "http-addr", Value: ":80", Usage: "public HTTP address (Traefik's web entrypoint)"},
			&cli.StringFlag{Name: "domain", Value: "localhost", Usage: "apps answer on APP.DOMAIN"},
			&cli.StringFlag{Name: "traefik", Usage: "Traefik binary (default: traefik on PATH, then bin/traefik)"},
			&cli.StringFlag{Name: "proxy", Value: "managed", Usage: "managed: nua runs Traefik; external: nua only writes its route files"},
			&cli.DurationFlag{Name: "boot-timeout", Value: 60 * time.Second, Usage: "how long new web processes may take to listen on $PORT and pass their checks"},
			&cli.DurationFlag{Name: "stop-timeout", Value: 30 * time.Second, Usage: "grace between SIGTERM and SIGKILL when processes stop"},
			&cli.IntFlag{Name: "keep-releases", Value: 5, Usage: "builds kept per app for rollback"},
			&cli.IntFlag{Name: "max-scale", Value: nua.DefaultMaxScale, Usage: "most instances of one process type"},
			&cli.DurationFlag{Name: "build-timeout", Value: buildpacks.DefaultTimeout, Usage: "how long a build may take"},
		},
		Action: func(c *cli.Context) error {
			cfg := serverConfig{
				data: commands.DataDir(c), sshAddr: c.String("ssh-addr"),
				httpAddr: c.String("http-addr"), domain: c.String("domain"),
				traefik: c.String("traefik"), proxy: c.String("proxy"),
				bootTimeout: c.Duration("boot-timeout"), stopTimeout: c.Duration("stop-timeout"), buildTimeout: c.Duration("build-timeout"),
				keepReleases: c.Int("keep-releases"), maxScale: c.Int("max-scale"),
			}
			return runServer(c.Context, cfg, c.App.ErrWriter)
		},
	}
}

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

type serverConfig struct {
	data, sshAddr, httpAddr, domain, traefik, proxy string
	bootTimeout, stopTimeout, buildTimeout          time.Duration
	keepReleases, maxScale                          int
}

func (c *serverConfig) validate() error {
	if c.keepReleases < 1 || c.maxScale < 1 || c.stopTimeout <= 0 || c.bootTimeout <= 0 {
		return errors.New("--keep-releases and --max-scale take 1 or more, --stop-timeout and --boot-timeout a positive duration")
	}
	if c.proxy != "managed" && c.proxy != "external" {
		return fmt.Errorf("--proxy %q: use managed or external", c.proxy)
	}
	if _, _, err := net.SplitHostPort(c.httpAddr); err != nil {
		return fmt.Errorf("--http-addr %q: %w", c.httpAddr, err)
	}
	if !domainRE.MatchString(c.domain) {
		return fmt.Errorf("--domain %q: give the domain apps answer under, e.g. apps.example.org", c.domain)
	}
	if _, err := exec.LookPath("git-receive-pack"); err != nil {
		return errors.New("git-receive-pack not found: install git (apt-get install git)")
	}
	data, err := filepath.Abs(c.data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	// Hooks report the repository by its real path: resolve symlinks once.
	c.data, err = filepath.EvalSymlinks(data)
	return err
}

// runServer runs the daemon until ctx is done, then stops every part in
// reverse order.
func runServer(ctx context.Context, cfg serverConfig, logw io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	db, err := store.Open(filepath.Join(cfg.data, "nua.db"))
	if err != nil {
		return err
	}
	defer db.Close()

	traefikBin := ""
	if cfg.proxy == "managed" {
		if traefikBin, err = proxy.FindBinary(cfg.traefik); err != nil {
			return err
		}
	}
	px := proxy.New(proxy.Config{
		Dir: filepath.Join(cfg.data, "traefik"), HTTPAddr: cfg.httpAddr, Binary: traefikBin,
		External: cfg.proxy == "external", Logger: log.With("component", "proxy"),
	})
	if err := px.Open(ctx); err != nil {
		return err
	}
	defer px.Close(context.WithoutCancel(ctx))

	procs := procman.New(procman.Config{LogDir: filepath.Join(cfg.data, "logs"), StopTimeout: cfg.stopTimeout, Logger: log.With("component", "procman")})
	defer procs.Close(context.WithoutCancel(ctx))

	recv := receiver.New(receiver.Config{
		ReposDir: filepath.Join(cfg.data, "repos"),
		Hook:     []string{exe, "--data", cfg.data, "hook", "pre-receive"},
		Logger:   log.With("component", "receiver"),
	})
	_, port, _ := net.SplitHostPort(cfg.httpAddr)
	httpPort, _ := strconv.Atoi(port)
	builder := buildpacks.New(toolchains.Builtin(toolchains.Config{
		GoBuildCache: goBuildCache(cfg.data),
		// "_" keeps it apart from the apps' caches: app names have none.
		PythonSeeds: filepath.Join(cfg.data, "cache", "_python-seeds"),
	}), buildpacks.WithTimeout(cfg.buildTimeout), buildpacks.WithProtected(cfg.data))
	p := nua.New(nua.Config{
		DataDir: cfg.data, Domain: cfg.domain, HTTPPort: httpPort, Store: db,
		Builder: builder, Procs: procs, Proxy: px, Receiver: recv,
		BinDir: filepath.Dir(exe), BootTimeout: cfg.bootTimeout, KeepSlugs: cfg.keepReleases,
		Logger: log.With("component", "nua"),
	})
	defer p.Close(context.WithoutCancel(ctx))

	ln, err := adminsock.Listen(filepath.Join(cfg.data, "nua.sock"))
	if err != nil {
		return err
	}
	defer ln.Close()
	admin := func(ctx context.Context, req adminsock.Request, in io.Reader, out, errw io.Writer) int {
		o := commands.Options{Door: commands.Socket, Platform: p, User: req.User, Stdin: in, Stdout: out, Stderr: errw, MaxScale: cfg.maxScale}
		return commands.Run(ctx, o, req.Args)
	}

	ssh := sshd.New(sshd.Config{
		Addr: cfg.sshAddr, HostKey: filepath.Join(cfg.data, "ssh_host_ed25519_key"),
		Authorize: p.Authorize, Logger: log.With("component", "sshd"),
		Command: func(ctx context.Context, s sshd.Session) int {
			o := commands.Options{Door: commands.SSH, Platform: p, User: s.User, Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr, MaxScale: cfg.maxScale}
			if s.TTY != nil {
				o.TTY = &nua.TTY{Term: s.TTY.Term, Width: s.TTY.Width, Height: s.TTY.Height, Resize: s.TTY.Resize}
				if len(s.Args) == 0 || s.Args[0] != "run" { // a terminal in raw mode wants CRLF
					o.Stdout, o.Stderr = crlf{s.Stdout}, crlf{s.Stderr}
				}
			}
			return commands.Run(ctx, o, s.Args)
		},
		Git: func(ctx context.Context, s sshd.Session, service, repo string) int {
			return serveGit(ctx, p, s, service, repo)
		},
	})
	if err := ssh.Open(); err != nil {
		return err
	}

	// Everything is open: from here on every goroutine is tracked, and a
	// server that stops serving stops the daemon with its error.
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var bg sync.WaitGroup
	serve := func(name string, f func() error) {
		bg.Go(func() {
			if err := f(); err != nil {
				fail(&serveError{name, err})
			}
		})
	}
	bg.Go(func() {
		if err := builder.Warm(ctx); err != nil && ctx.Err() == nil {
			log.Warn("warm build caches", "err", err)
		}
	})
	serve("admin socket", func() error { return adminsock.Serve(ctx, ln, admin) })
	serve("ssh", ssh.Serve)

	if err := p.Restore(ctx); err != nil {
		log.Error("restore apps", "err", err)
	}
	log.Info("ready", "ssh", ssh.Addr().String(), "http", cfg.httpAddr, "data", cfg.data, "version", nua.Version)
	notifyReady()
	<-ctx.Done()
	var failed *serveError
	if errors.As(context.Cause(ctx), &failed) {
		log.Error("stopping", "err", failed)
	} else {
		log.Info("stopping")
	}
	// Stop accepting; open SSH sessions may finish (a second signal does
	// not wait); admin connections end with ctx. Then wait for them all.
	ln.Close()
	ssh.Close(context.WithoutCancel(ctx))
	bg.Wait()
	if failed != nil {
		return failed
	}
	return nil
}

// serveError is a server of the daemon that stopped serving on its own.
type serveError struct {
	name string
	err  error
}

func (e *serveError) Error() string { return fmt.Sprintf("serve %s: %v", e.name, e.err) }
func (e *serveError) Unwrap() error { return e.err }

// goBuildCache is the Go build cache all apps share: $GOCACHE when the
// operator set one, else one in the data directory.
func goBuildCache(data string) string {
	if d := os.Getenv("GOCACHE"); d != "" && d != "off" {
		return d
	}
	return filepath.Join(data, "cache", "_go-build") // app names cannot hold "_"
}

// serveGit runs a git session and maps its outcome to an exit status.
func serveGit(ctx context.Context, p *nua.Platform, s sshd.Session, service, repo string) int {
	err := p.Git(ctx, service, repo, s.User, receiver.Stdio{Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr})
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode() // git has told the client why
	default:
		fmt.Fprintf(s.Stderr, " !     %s\n", err)
		return 1
	}
}

// crlf turns \n into \r\n, for a client terminal in raw mode.
type crlf struct{ w io.Writer }

func (c crlf) Write(p []byte) (int, error) {
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// notifyReady tells systemd the daemon is up, when it runs under systemd.
func notifyReady() {
	sock := os.Getenv("NOTIFY_SOCKET")
	if sock == "" {
		return
	}
	conn, err := net.Dial("unixgram", sock)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.Write([]byte("READY=1"))
}
