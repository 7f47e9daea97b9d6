package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/backup"
	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/internal/adminsock"
	"github.com/nua-paas/nua/internal/bytesize"
	"github.com/nua-paas/nua/internal/commands"
	"github.com/nua-paas/nua/internal/diskuse"
	"github.com/nua-paas/nua/metrics"
	"github.com/nua-paas/nua/notify"
	"github.com/nua-paas/nua/procman"
	"github.com/nua-paas/nua/proxy"
	"github.com/nua-paas/nua/receiver"
	"github.com/nua-paas/nua/runtime"
	"github.com/nua-paas/nua/runtime/sandbox"
	"github.com/nua-paas/nua/sshd"
	"github.com/nua-paas/nua/store"
	"github.com/nua-paas/nua/toolchains"
	"github.com/nua-paas/nua/toolchains/static"
	"github.com/nua-paas/nua/web"
	"github.com/urfave/cli/v2"
)

func serverCommand() *cli.Command {
	return &cli.Command{
		Name:  "server",
		Usage: "run the nua daemon: SSH server, builds, processes and Traefik",
		Flags: append([]cli.Flag{
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
			&cli.DurationFlag{Name: "ssh-idle-timeout", Value: sshd.DefaultIdleTimeout, Usage: "close SSH sessions with no traffic either way for this long (0: never)"},
			&cli.StringFlag{Name: "sandbox", Value: "on", Usage: "on: as root, each app runs under its own uid with limits; off: apps run as nua's user (not for shared servers)"},
			&cli.StringFlag{Name: "max-push-size", Value: "1G", Usage: "most a push may send (K, M, G); a larger one fails and deploys nothing"},
			&cli.StringFlag{Name: "min-free", Value: "1G", Usage: "disk space a build needs free on the data dir's file system (K, M, G); with less, pushes are refused and running apps keep the room"},
			&cli.StringFlag{Name: "dashboard", Value: "on", Usage: "on: serve the web dashboard and the HTTP API through Traefik at the --dashboard-host; off: neither"},
			&cli.StringFlag{Name: "dashboard-host", Usage: "the `HOST` the dashboard and the API answer on (default: nua.DOMAIN)"},
			&cli.StringFlag{Name: "metrics-addr", Usage: "serve the apps' process figures for Prometheus at http://`ADDR`/metrics, a loopback address such as 127.0.0.1:9180 (default: off)"},
			&cli.StringFlag{Name: "smtp-addr", Usage: "the SMTP relay (`HOST:PORT`) email notifications go through; its password, if any, in $NUA_SMTP_PASSWORD"},
			&cli.StringFlag{Name: "smtp-from", Usage: "the sender `ADDRESS` of email notifications"},
			&cli.StringFlag{Name: "smtp-user", Usage: "the user nua logs in to the SMTP relay as (AUTH PLAIN, over TLS)"},
			&cli.StringFlag{Name: "buildpacks-dir", Usage: "the only `DIR` builds may take buildpacks from by path or file:// URL (.buildpacks, BUILDPACK_URL, project.toml); default: none"},
		}, httpsFlags()...),
		Action: func(c *cli.Context) error {
			cfg := serverConfig{
				data: commands.DataDir(c), sshAddr: c.String("ssh-addr"),
				httpAddr: c.String("http-addr"), domain: c.String("domain"),
				traefik: c.String("traefik"), proxy: c.String("proxy"),
				bootTimeout: c.Duration("boot-timeout"), stopTimeout: c.Duration("stop-timeout"), buildTimeout: c.Duration("build-timeout"),
				keepReleases: c.Int("keep-releases"), maxScale: c.Int("max-scale"),
				sandbox: c.String("sandbox"), buildpacksDir: c.String("buildpacks-dir"), maxPushSizeFlag: c.String("max-push-size"),
				minFreeFlag:    c.String("min-free"),
				sshIdleTimeout: c.Duration("ssh-idle-timeout"),
				https:          httpsConfig(c),
				metricsAddr:    c.String("metrics-addr"), dashboard: c.String("dashboard"), dashboardHost: c.String("dashboard-host"),
				smtp: notify.SMTP{Addr: c.String("smtp-addr"), From: c.String("smtp-from"),
					Username: c.String("smtp-user"), Password: os.Getenv("NUA_SMTP_PASSWORD")},
			}
			return runServer(c.Context, cfg, c.App.ErrWriter)
		},
	}
}

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

type serverConfig struct {
	data, sshAddr, httpAddr, domain, traefik, proxy, sandbox string
	bootTimeout, stopTimeout, buildTimeout, sshIdleTimeout   time.Duration
	keepReleases, maxScale                                   int
	buildpacksDir                                            string // "" = none
	maxPushSizeFlag                                          string // as given, e.g. 1G
	maxPushSize                                              int64
	minFreeFlag                                              string
	minFree                                                  int64
	https                                                    *proxy.HTTPS // nil: HTTP only
	smtp                                                     notify.SMTP
	metricsAddr                                              string // "" = off
	dashboard, dashboardHost                                 string
}

func (c *serverConfig) validate() error {
	if c.keepReleases < 1 || c.maxScale < 1 || c.stopTimeout <= 0 || c.bootTimeout <= 0 {
		return errors.New("--keep-releases and --max-scale take 1 or more, --stop-timeout and --boot-timeout a positive duration")
	}
	if c.sandbox != "on" && c.sandbox != "off" {
		return fmt.Errorf("--sandbox %q: use on or off", c.sandbox)
	}
	if c.maxPushSizeFlag == "" {
		c.maxPushSizeFlag = bytesize.Format(receiver.DefaultMaxPushSize)
	}
	n, err := bytesize.Parse(c.maxPushSizeFlag)
	if err != nil {
		return fmt.Errorf("--max-push-size: %w", err)
	}
	c.maxPushSize = n
	if c.minFreeFlag == "" {
		c.minFreeFlag = bytesize.Format(nua.DefaultMinFree)
	}
	if c.minFree, err = bytesize.Parse(c.minFreeFlag); err != nil {
		return fmt.Errorf("--min-free: %w", err)
	}
	if c.dashboard != "on" && c.dashboard != "off" {
		return fmt.Errorf("--dashboard %q: use on or off", c.dashboard)
	}
	if c.dashboardHost == "" {
		c.dashboardHost = nua.ReservedApp + "." + c.domain
	}
	if !domainRE.MatchString(c.dashboardHost) {
		return fmt.Errorf("--dashboard-host %q: give a host name, e.g. nua.example.org", c.dashboardHost)
	}
	if c.metricsAddr != "" {
		if err := metrics.CheckAddr(c.metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
	}
	if (c.smtp.Addr == "") != (c.smtp.From == "") {
		return errors.New("--smtp-addr and --smtp-from go together: the relay and the sender address of email notifications")
	}
	if c.smtp.Addr != "" {
		if _, _, err := net.SplitHostPort(c.smtp.Addr); err != nil {
			return fmt.Errorf("--smtp-addr %q: %w", c.smtp.Addr, err)
		}
		if _, err := mail.ParseAddress(c.smtp.From); err != nil {
			return fmt.Errorf("--smtp-from %q: %w", c.smtp.From, err)
		}
	}
	if c.proxy != "managed" && c.proxy != "external" {
		return fmt.Errorf("--proxy %q: use managed or external", c.proxy)
	}
	if _, _, err := net.SplitHostPort(c.httpAddr); err != nil {
		return fmt.Errorf("--http-addr %q: %w", c.httpAddr, err)
	}
	if c.https != nil {
		if err := c.https.Validate(); err != nil {
			return fmt.Errorf("--https-addr and --acme-*: %w", err)
		}
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
	if c.data, err = filepath.EvalSymlinks(data); err != nil {
		return err
	}
	return c.validateBuildpacksDir()
}

// validateBuildpacksDir resolves --buildpacks-dir, an existing directory
// outside the data directory.
func (c *serverConfig) validateBuildpacksDir() error {
	if c.buildpacksDir == "" {
		return nil
	}
	dir, err := filepath.Abs(c.buildpacksDir)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return fmt.Errorf("--buildpacks-dir: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("--buildpacks-dir %s: give an existing directory of buildpacks", c.buildpacksDir)
	}
	if rel, err := filepath.Rel(c.data, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("--buildpacks-dir %s: is inside the data directory %s, which builds must not read: keep buildpacks elsewhere", c.buildpacksDir, c.data)
	}
	c.buildpacksDir = dir
	return nil
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
	jail := sandbox.New(sandbox.Config{
		Helper: exe, Disabled: cfg.sandbox == "off", Logger: log.With("component", "sandbox"),
		// One daemon per data dir: its apps' cgroups are its own.
		Cgroup: fmt.Sprintf("nua-%x", sha256.Sum256([]byte(cfg.data)))[:12],
	})
	if err := jail.Open(); err != nil {
		return err
	}
	binDir := filepath.Dir(exe)
	if jail.Enabled() {
		if binDir, err = prepareDataDir(cfg.data, exe); err != nil {
			return err
		}
		// Builds find their tools on nua's PATH and run them as the app.
		path, dropped := sandbox.PublicPath(os.Getenv("PATH"))
		if len(dropped) > 0 {
			log.Info("sandbox: PATH dirs app users cannot reach are left out", "dirs", dropped)
		}
		os.Setenv("PATH", path)
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
		External: cfg.proxy == "external", Logger: log.With("component", "proxy"), HTTPS: cfg.https,
	})
	if err := px.Open(ctx); err != nil {
		return err
	}
	defer px.Close(context.WithoutCancel(ctx))

	var p *nua.Platform // told of crashes once made
	procs := procman.New(procman.Config{LogDir: filepath.Join(cfg.data, "logs"), StopTimeout: cfg.stopTimeout, Logger: log.With("component", "procman"),
		Crashed: func(app, name, how string) {
			if p != nil {
				p.ProcessCrashed(app, name, how)
			}
		}})
	defer procs.Close(context.WithoutCancel(ctx))

	recv := receiver.New(receiver.Config{
		ReposDir:    filepath.Join(cfg.data, "repos"),
		Hook:        []string{exe, "--data", cfg.data, "hook", "pre-receive"},
		Logger:      log.With("component", "receiver"),
		MaxPushSize: cfg.maxPushSize,
	})
	_, port, _ := net.SplitHostPort(cfg.httpAddr)
	httpPort, _ := strconv.Atoi(port)
	builder := buildpacks.New(toolchains.Builtin(toolchains.Config{
		GoBuildCache: goBuildCache(cfg.data),
		// "_" keeps it apart from the apps' caches: app names have none.
		PythonSeeds:     filepath.Join(cfg.data, "cache", "_python-seeds"),
		Nua:             exe,
		TrustedBuilders: trustedBuilders(db),
		BuildpacksDir:   cfg.buildpacksDir,
		RuntimesDir:     toolchains.RuntimesDir(cfg.data),
	}), buildpacks.WithTimeout(cfg.buildTimeout), buildpacks.WithProtected(cfg.data), buildpacks.WithShared(toolchains.RuntimesDir(cfg.data)),
		buildpacks.WithBuildpacksDir(cfg.buildpacksDir))
	rtc := runtime.Config{
		DataDir: cfg.data, Domain: cfg.domain, BinDir: binDir,
		Builder: builder, Procs: procs, Router: px, Sandbox: jail,
		BootTimeout: cfg.bootTimeout, Logger: log.With("component", "runtime"),
		InDaemon: staticSites(exe),
	}
	if err := rtc.Validate(); err != nil {
		return err
	}
	rt := runtime.New(rtc)
	services, stopServices, err := openAddons(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopServices()
	p = nua.New(nua.Config{
		DataDir: cfg.data, Domain: cfg.domain, HTTPPort: httpPort, HTTPSPort: httpsPort(cfg.https), Store: db,
		Builder: rt, Runner: rt, Monitor: rt, Repos: repos{recv}, KeepSlugs: cfg.keepReleases, MinFree: cfg.minFree,
		Notifier: &notify.Sender{SMTP: cfg.smtp, Server: cfg.domain}, DashboardHost: dashboardHost(cfg),
		Logger: log.With("component", "nua"), Addons: services,
	})
	defer p.Close(context.WithoutCancel(ctx))
	if err := p.Migrate(); err != nil {
		return err
	}

	bk := backup.New(backup.Config{Platform: p, Logger: log.With("component", "backup")})

	var dash *web.Server
	var dashLn net.Listener
	if cfg.dashboard == "on" {
		if dashLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("dashboard: %w", err)
		}
		defer dashLn.Close()
		dash = web.New(web.Config{Platform: p, URL: dashboardURL(cfg, httpPort), Logger: log.With("component", "web"), Backups: bk})
	}

	var metricsLn net.Listener
	if cfg.metricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer metricsLn.Close()
	}

	ln, err := adminsock.Listen(filepath.Join(cfg.data, "nua.sock"))
	if err != nil {
		return err
	}
	defer ln.Close()
	admin := func(ctx context.Context, req adminsock.Request, in io.Reader, out, errw io.Writer) int {
		o := commands.Options{Door: commands.Socket, Platform: p, Who: socketIdentity(req), Stdin: in, Stdout: out, Stderr: errw, MaxScale: cfg.maxScale, Dashboard: dashboard(dash), Backups: bk}
		return commands.Run(ctx, o, req.Args)
	}

	ssh := sshd.New(sshd.Config{
		Addr: cfg.sshAddr, HostKey: filepath.Join(cfg.data, "ssh_host_ed25519_key"),
		Authorize: p.Authorize, Logger: log.With("component", "sshd"),
		IdleTimeout: idleTimeout(cfg.sshIdleTimeout),
		Command: func(ctx context.Context, s sshd.Session) int {
			who, ok := sshIdentity(p, s)
			if !ok {
				return commands.ExitError
			}
			o := commands.Options{Door: commands.SSH, Platform: p, Who: who, Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr, MaxScale: cfg.maxScale, Dashboard: dashboard(dash), Backups: bk}
			if s.TTY != nil {
				o.TTY = &nua.TTY{Term: s.TTY.Term, Width: s.TTY.Width, Height: s.TTY.Height, Resize: s.TTY.Resize}
				if len(s.Args) == 0 || !commands.Interactive(s.Args[0]) { // a terminal in raw mode wants CRLF
					o.Stdout, o.Stderr = crlf{s.Stdout}, crlf{s.Stderr}
				}
			}
			return commands.Run(ctx, o, s.Args)
		},
		Git: func(ctx context.Context, s sshd.Session, service, repo string) int {
			who, ok := sshIdentity(p, s)
			if !ok {
				return commands.ExitError
			}
			o := commands.Options{Door: commands.SSH, Platform: p, Who: who}
			return commands.Git(ctx, o, service, repo, nua.Stdio{Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr})
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
	bg.Go(func() { // the apps' cron jobs, checked every second
		t := time.NewTicker(time.Second)
		defer t.Stop()
		p.RunCron(ctx, t.C)
	})
	bg.Go(func() { // scheduled backups, checked every second
		t := time.NewTicker(time.Second)
		defer t.Stop()
		bk.Run(ctx, t.C)
	})
	bg.Go(func() { // the disk-full notice, at start and every 10 minutes
		every(ctx, 10*time.Minute, true, func() {
			if free, total, err := diskuse.Free(cfg.data); err == nil {
				p.CheckDiskUsage(free, total)
			}
		})
	})
	bg.Go(func() { // system:prune, daily
		every(ctx, 24*time.Hour, false, func() {
			dirs, rts, freed, err := commands.Prune(p)
			log.Info("daily prune", "dirs", len(dirs), "runtimes", len(rts), "bytes", freed, "err", err)
		})
	})
	bg.Go(func() { // certificate changes, in the apps' logs
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		p.WatchCerts(ctx, t.C)
	})
	serve("admin socket", func() error { return adminsock.Serve(ctx, ln, admin) })
	if metricsLn != nil {
		serve("metrics", func() error { return metrics.Serve(metricsLn, p) })
		log.Info("metrics", "url", "http://"+metricsLn.Addr().String()+"/metrics")
	}
	serve("ssh", ssh.Serve)

	if err := p.Restore(ctx); err != nil {
		log.Error("restore apps", "err", err)
	}
	bg.Go(func() { bk.Resume(ctx) }) // the apps a server:restore left to rebuild
	if dash != nil {
		serve("dashboard", func() error { return dash.Serve(ctx, dashLn) })
		// With HTTPS, its host gets a certificate like an app's, and plain
		// HTTP redirects once it has one: the proxy rewrites the route
		// when the certificate comes, as it does the apps'.
		route := proxy.Route{App: nua.ReservedApp, Hosts: []string{cfg.dashboardHost}, Servers: []string{"http://" + dashLn.Addr().String()}, Redirect: true}
		if err := px.SetRoute(ctx, route); err != nil {
			log.Error("route the dashboard", "err", err)
		}
		log.Info("dashboard", "url", dashboardURL(cfg, httpPort))
	} else {
		px.RemoveRoute(ctx, nua.ReservedApp)
	}
	if jail.Enabled() {
		log.Info("sandbox: " + jail.Status())
	} else {
		log.Warn("sandbox: " + jail.Status())
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
	if metricsLn != nil {
		metricsLn.Close()
	}
	ssh.Close(context.WithoutCancel(ctx))
	bg.Wait()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.WaitNotifications(wctx); err != nil {
		log.Warn("notifications still under way at stop", "err", err)
	}
	if failed != nil {
		return failed
	}
	return nil
}

// idleTimeout maps --ssh-idle-timeout to sshd's: 0 there means never.
func idleTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// trustedBuilders lists the builder images of db's trusted builders.
func trustedBuilders(db *store.DB) func() ([]string, error) {
	return func() ([]string, error) {
		bs, err := db.TrustedBuilders()
		images := make([]string, len(bs))
		for i, b := range bs {
			images[i] = b.Image
		}
		return images, err
	}
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

// sshIdentity is who holds the key the session authenticated with (its
// User is the key's fingerprint: see Platform.Authorize); false, once the
// client is told, when the key is gone since.
func sshIdentity(p *nua.Platform, s sshd.Session) (nua.Identity, bool) {
	who, err := p.Identify(s.User)
	if err != nil {
		fmt.Fprintf(s.Stderr, " !     %s\n", strings.TrimPrefix(err.Error(), nua.ErrForbidden.Error()+": "))
		return nua.Identity{}, false
	}
	return who, true
}

// socketIdentity is who calls the admin socket: an admin, root or nua's
// own account (the socket is theirs only), named as the caller says.
func socketIdentity(req adminsock.Request) nua.Identity {
	return nua.Identity{User: cmp.Or(req.User, "local"), Admin: true, Door: nua.DoorSocket, System: true}
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

// repos is a receiver as the root package's Repos.
type repos struct{ *receiver.Receiver }

var _ nua.Repos = repos{}

func (r repos) ReceivePack(ctx context.Context, app string, env []string, s nua.Stdio) error {
	return r.Receiver.ReceivePack(ctx, app, env, receiver.Stdio(s))
}

func (r repos) UploadPack(ctx context.Context, app string, s nua.Stdio) error {
	return r.Receiver.UploadPack(ctx, app, receiver.Stdio(s))
}

func (r repos) Export(ctx context.Context, app, commit string, q nua.Quarantine, dst string) error {
	return r.Receiver.Export(ctx, app, commit, receiver.Quarantine(q), dst)
}

// staticSites serves the static sites in the daemon, one listener each
// beside the others, rather than a process per site: the slug's files are
// served confined to it (static.Handler), and a redeploy starts the new
// release's listener, switches the route and shuts the old one down like
// any web instance.
func staticSites(exe string) func(slug, cmd string) procman.Server {
	web := static.WebCommand(exe)
	return func(slug, cmd string) procman.Server {
		if cmd != web {
			return nil
		}
		return func(ctx context.Context, ln net.Listener, _ io.Writer) error {
			return static.ServeListener(ctx, ln, slug)
		}
	}
}

// dashboard is d as the command tree's Dashboard: nil when it is off.
func dashboard(d *web.Server) commands.Dashboard {
	if d == nil {
		return nil
	}
	return d
}

// dashboardHost is the dashboard's host, "" when it is off.
func dashboardHost(cfg serverConfig) string {
	if cfg.dashboard != "on" {
		return ""
	}
	return cfg.dashboardHost
}

// dashboardURL is where browsers reach the dashboard: over HTTPS when the
// server serves it.
func dashboardURL(cfg serverConfig, httpPort int) string {
	if cfg.https == nil {
		return siteURL(cfg.dashboardHost, httpPort)
	}
	if port := httpsPort(cfg.https); port != 443 && port != 0 {
		return "https://" + cfg.dashboardHost + ":" + strconv.Itoa(port)
	}
	return "https://" + cfg.dashboardHost
}

// siteURL is the base URL of host on the public HTTP port.
func siteURL(host string, port int) string {
	if port == 80 || port == 0 {
		return "http://" + host
	}
	return "http://" + host + ":" + strconv.Itoa(port)
}

// every runs f each period until ctx ends, and once at once if now.
func every(ctx context.Context, period time.Duration, now bool, f func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	if now {
		f()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
