// Package proxy routes HTTP requests to apps through Traefik: one dynamic
// configuration file per app, read by Traefik's file provider. nua either
// starts and supervises Traefik itself, with a static configuration it
// generates, or only writes the files for a Traefik the operator runs.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Config configures a Traefik.
type Config struct {
	// Dir holds the static configuration (Dir/traefik.yml) and the
	// dynamic files (Dir/dynamic/APP.yml).
	Dir string
	// HTTPAddr is the address of the web entrypoint, e.g. 127.0.0.1:8080.
	HTTPAddr string
	// Binary is the Traefik binary to run.
	Binary string
	// External means an operator runs Traefik: only the dynamic files are
	// written; no process is started and no API is asked.
	External bool
	// LogFile receives Traefik's output. Default Dir/traefik.log.
	LogFile string
	// Timeout bounds the waits on Traefik when the context has no
	// deadline: Open until it serves, SetRoute and RemoveRoute until the
	// route is live or gone, Close until it exits. Default 10s.
	Timeout time.Duration
	// Logger receives nua's own messages about Traefik. nil discards them.
	Logger *slog.Logger
	// HTTPS, when set, serves the apps over HTTPS too, with certificates
	// from ACME.
	HTTPS *HTTPS
}

// Validate reports the first bad field of c.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("proxy config: Dir is empty")
	}
	if c.HTTPS != nil {
		if err := c.HTTPS.Validate(); err != nil {
			return err
		}
	}
	if c.External {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("proxy config: HTTPAddr %q: %w", c.HTTPAddr, err)
	}
	if c.Binary == "" {
		return errors.New("proxy config: Binary is empty: run `make traefik` or give a Traefik binary")
	}
	return nil
}

// Traefik writes the apps' routes and, unless External, runs Traefik.
type Traefik struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
	locks  sync.Map // app name → *sync.Mutex, one write at a time per app
	state  routeState

	mu      sync.Mutex
	apiAddr string
	proc    *process // the running Traefik, or the last one
	closing bool
	cancel  context.CancelFunc // stops the supervisor
	wg      sync.WaitGroup
}

// New returns a Traefik for cfg. It does no I/O.
func New(cfg Config) *Traefik {
	if cfg.LogFile == "" && cfg.Dir != "" {
		cfg.LogFile = filepath.Join(cfg.Dir, "traefik.log")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Traefik{
		cfg: cfg,
		log: log,
		client: &http.Client{
			Timeout:   2 * time.Second,
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4},
		},
	}
}

func (t *Traefik) dynamicDir() string { return filepath.Join(t.cfg.Dir, "dynamic") }

func (t *Traefik) routeFile(app string) string {
	return filepath.Join(t.dynamicDir(), app+".yml")
}

// Open creates the directories and, unless External, writes the static
// configuration, starts Traefik and waits until its API answers and its
// web entrypoint accepts connections. Traefik is restarted whenever it
// dies, until Close.
func (t *Traefik) Open(ctx context.Context) error {
	if err := t.cfg.Validate(); err != nil {
		return err
	}
	if err := t.absPaths(); err != nil {
		return err
	}
	if err := os.MkdirAll(t.dynamicDir(), 0o755); err != nil {
		return fmt.Errorf("create dynamic dir: %w", err)
	}
	if err := removeTemps(t.dynamicDir()); err != nil {
		return err
	}
	if t.cfg.HTTPS != nil {
		if err := t.prepareACME(); err != nil {
			return err
		}
	} else if err := removeFile(t.retryFile()); err != nil {
		return err
	}
	if t.cfg.External {
		return nil
	}
	ctx, cancel := t.withTimeout(ctx)
	defer cancel()
	p, apiAddr, err := t.startReady(ctx)
	if err != nil {
		return err
	}
	superCtx, stop := context.WithCancel(context.Background())
	t.mu.Lock()
	t.cancel = stop
	t.mu.Unlock()
	t.wg.Add(1)
	go t.supervise(superCtx, p)
	if t.cfg.HTTPS != nil {
		t.wg.Add(1)
		go t.watchCerts(superCtx, 500*time.Millisecond, t.cfg.HTTPS.retry())
	}
	t.log.Info("traefik started", "pid", p.pid(), "http", t.cfg.HTTPAddr, "api", apiAddr)
	return nil
}

// startReady picks the API port, writes the static configuration and
// starts Traefik until it serves. The API port is picked free but may be
// taken before Traefik binds it: that failure alone is retried with a
// fresh port.
func (t *Traefik) startReady(ctx context.Context) (*process, string, error) {
	for attempt := 1; ; attempt++ {
		apiAddr, err := freeAddr()
		if err != nil {
			return nil, "", err
		}
		if err := t.writeStatic(apiAddr); err != nil {
			return nil, "", err
		}
		t.mu.Lock()
		t.apiAddr = apiAddr
		t.mu.Unlock()
		p, err := t.start()
		if err != nil {
			return nil, "", err
		}
		err = t.waitReady(ctx, p)
		if err == nil {
			return p, apiAddr, nil
		}
		p.stop(context.Background(), time.Second)
		taken := strings.Contains(err.Error(), apiAddr) && strings.Contains(err.Error(), "address already in use")
		if !taken || attempt == 3 {
			return nil, "", err
		}
		t.log.Warn("traefik api port taken, picking another", "api", apiAddr)
	}
}

// absPaths makes the configured paths absolute, as Traefik runs in Dir. A
// Binary without a slash is left to be looked up on PATH.
func (t *Traefik) absPaths() error {
	paths := []*string{&t.cfg.Dir, &t.cfg.LogFile}
	if strings.Contains(t.cfg.Binary, "/") {
		paths = append(paths, &t.cfg.Binary)
	}
	for _, p := range paths {
		if filepath.IsAbs(*p) {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("resolve %s: %w", *p, err)
		}
		*p = abs
	}
	return nil
}

func (t *Traefik) writeStatic(apiAddr string) error {
	data, err := staticYAMLFor(t.cfg.HTTPAddr, apiAddr, t.dynamicDir(), t.cfg.HTTPS, t.acmeFile())
	if err != nil {
		return err
	}
	if err := writeFileAtomic(t.staticFile(), data); err != nil {
		return fmt.Errorf("write static config: %w", err)
	}
	return nil
}

func (t *Traefik) staticFile() string { return filepath.Join(t.cfg.Dir, "traefik.yml") }

// withTimeout bounds ctx by the configured timeout unless it has a deadline.
func (t *Traefik) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, t.cfg.Timeout)
}

// Close stops Traefik: SIGTERM, then SIGKILL once ctx ends or the
// timeout passes. It waits for the process and the supervisor to end.
func (t *Traefik) Close(ctx context.Context) error {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return nil
	}
	t.closing = true
	p, cancel := t.proc, t.cancel
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	// Idle connections to the API would hold up Traefik's shutdown.
	t.client.CloseIdleConnections()
	var err error
	if p != nil {
		err = p.stop(ctx, t.cfg.Timeout)
	}
	t.wg.Wait()
	return err
}

// APIAddr is the address of Traefik's API, empty when External or before Open.
func (t *Traefik) APIAddr() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.apiAddr
}

// PID is the running Traefik's process id, 0 when none runs.
func (t *Traefik) PID() int {
	t.mu.Lock()
	p := t.proc
	t.mu.Unlock()
	if p == nil || p.exited() {
		return 0
	}
	return p.pid()
}

// freeAddr picks a free loopback port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick api port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("pick api port: %w", err)
	}
	return addr, nil
}
