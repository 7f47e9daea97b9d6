// Package sshd is nua's SSH server: public-key authentication, no shell, no
// forwarding. A git-receive-pack or git-upload-pack command goes to the git
// handler; any other command line, split without a shell, goes to the
// command handler.
package sshd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anmitsu/go-shlex"
	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Session is one SSH exec request as the handlers see it.
type Session struct {
	// User is the name of the key that authenticated.
	User string
	// Args is the command line, split like a shell would without running one.
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// TTY is set when the client asked for a terminal (ssh -t).
	TTY *TTY
}

// TTY is the terminal a client asked for.
type TTY struct {
	Term          string
	Width, Height int
	Resize        <-chan [2]int // width, height
}

// Config configures a Server.
type Config struct {
	// Addr is the listen address, e.g. "127.0.0.1:2222".
	Addr string
	// HostKey is the path of the ed25519 host key, created 0600 if missing.
	HostKey string
	// Authorize returns the name of an authorised key.
	Authorize func(gossh.PublicKey) (name string, ok bool)
	// Git serves a git-receive-pack or git-upload-pack request for repo.
	Git func(ctx context.Context, s Session, service, repo string) int
	// Command runs any other command line and returns its exit status.
	Command func(ctx context.Context, s Session) int
	Logger  *slog.Logger

	// HandshakeTimeout bounds the time from connecting to being
	// authenticated: a client that says nothing, or too little, is
	// dropped. Default 20s.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that carried no data either way
	// for that long, and cancels its command: a `logs -t` that streams
	// lines or a push that sends or receives is never idle, and
	// `ssh -o ServerAliveInterval=60` keeps a quiet one open. Default
	// 30m; negative: never.
	IdleTimeout time.Duration
	// MaxUnauthenticated caps the connections not authenticated yet;
	// past it new ones are closed at once. Default 64.
	MaxUnauthenticated int
	// MaxAuthFailures is how many failed connections (keys refused, or
	// the handshake timeout passed) an address may make within
	// FailureWindow; the next connections from it are refused for
	// BanTime. IPv6 addresses count by /64. Defaults: 10, 1m, 5m.
	MaxAuthFailures int
	FailureWindow   time.Duration
	BanTime         time.Duration
}

// Defaults of Config's limits.
const (
	DefaultHandshakeTimeout   = 20 * time.Second
	DefaultIdleTimeout        = 30 * time.Minute
	DefaultMaxUnauthenticated = 64
	DefaultMaxAuthFailures    = 10
	DefaultFailureWindow      = time.Minute
	DefaultBanTime            = 5 * time.Minute
)

func (c Config) withDefaults() Config {
	set := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	set(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	set(&c.IdleTimeout, DefaultIdleTimeout)
	set(&c.FailureWindow, DefaultFailureWindow)
	set(&c.BanTime, DefaultBanTime)
	if c.MaxUnauthenticated == 0 {
		c.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	if c.MaxAuthFailures == 0 {
		c.MaxAuthFailures = DefaultMaxAuthFailures
	}
	return c
}

// Validate names the first field of c that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Authorize == nil || c.Git == nil || c.Command == nil:
		return errors.New("ssh config: Authorize, Git and Command are required")
	case c.HandshakeTimeout < 0:
		return fmt.Errorf("ssh handshake timeout %v: give a positive duration", c.HandshakeTimeout)
	case c.MaxUnauthenticated < 0:
		return fmt.Errorf("ssh max unauthenticated connections %d: give 1 or more", c.MaxUnauthenticated)
	case c.MaxAuthFailures < 0 || c.FailureWindow < 0 || c.BanTime < 0:
		return errors.New("ssh failed-login limits: give 1 or more failures and positive durations")
	}
	return nil
}

// Server is nua's SSH server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	srv    *ssh.Server
	ln     net.Listener
	closed atomic.Bool // Close was called: Serve's accept error is the end
	limit  *limiter
	slots  chan struct{} // one per unauthenticated connection

	mu       sync.Mutex
	lastFull time.Time // when warnFull last logged
}

const (
	userKey  = "nua-key"
	guardKey = "nua-guard"
)

// New returns a Server for cfg, with defaults for its unset limits.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg: cfg, log: log,
		limit: newLimiter(cfg.MaxAuthFailures, cfg.FailureWindow, cfg.BanTime, maxTrackedAddrs),
		slots: make(chan struct{}, max(cfg.MaxUnauthenticated, 0)), // Open refuses a negative one
	}
}

// Open loads or creates the host key and starts listening.
func (s *Server) Open() error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	signer, err := LoadHostKey(s.cfg.HostKey)
	if err != nil {
		return err
	}
	s.srv = &ssh.Server{
		Handler:          s.handle,
		PublicKeyHandler: s.authorize,
		PtyCallback:      func(ssh.Context, ssh.Pty) bool { return true },
		Version:          "nua",
		ConnCallback: func(ctx ssh.Context, conn net.Conn) net.Conn {
			g, c := s.admit(conn)
			if g != nil {
				ctx.SetValue(guardKey, g)
			}
			return c
		},
		ServerConfigCallback: func(ctx ssh.Context) *gossh.ServerConfig {
			cfg := &gossh.ServerConfig{}
			if g, ok := ctx.Value(guardKey).(*guard); ok {
				cfg.AuthLogCallback = g.authLog
			}
			return cfg
		},
	}
	if s.cfg.IdleTimeout > 0 {
		s.srv.IdleTimeout = s.cfg.IdleTimeout
	}
	s.srv.AddHostKey(signer)
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen ssh: %w", err)
	}
	s.ln = ln
	return nil
}

// authorize accepts a key the platform knows, from an address not refused.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	if g, ok := ctx.Value(guardKey).(*guard); ok {
		if _, refused := s.limit.refused(g.addr); refused {
			return false
		}
	}
	name, ok := s.cfg.Authorize(key)
	if !ok {
		s.log.Info("key refused", "remote", ctx.RemoteAddr().String(), "fingerprint", gossh.FingerprintSHA256(key))
		return false
	}
	ctx.SetValue(userKey, name)
	return true
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, ssh.ErrServerClosed) || s.closed.Load() && errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Close stops accepting and waits for open sessions until ctx is done, then
// closes them. A Serve called before or after Close returns nil.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	// Shutdown closes only a listener Serve has taken: closing it here too
	// ends a Serve that has not started yet.
	s.closed.Store(true)
	s.ln.Close()
	if err := s.srv.Shutdown(ctx); err != nil && ctx.Err() != nil {
		return s.srv.Close()
	}
	return nil
}

func (s *Server) handle(sess ssh.Session) {
	ctx := sess.Context()
	user, _ := ctx.Value(userKey).(string)
	args, err := shlex.Split(sess.RawCommand(), true)
	if err != nil {
		s.log.Info("command line refused", "user", user, "err", err)
		fmt.Fprintln(sess.Stderr(), " !     the command line has an unclosed quote or ends in a backslash: check its quoting")
		sess.Exit(2)
		return
	}
	io := Session{User: user, Args: args, Stdin: sess, Stdout: sess, Stderr: sess.Stderr()}
	if pty, windows, ok := sess.Pty(); ok {
		resize := make(chan [2]int, 1)
		go func() {
			defer close(resize)
			for w := range windows {
				select {
				case resize <- [2]int{w.Width, w.Height}:
				default: // a newer size follows
				}
			}
		}()
		io.TTY = &TTY{Term: pty.Term, Width: pty.Window.Width, Height: pty.Window.Height, Resize: resize}
	}
	var code int
	if len(args) == 2 && (args[0] == "git-receive-pack" || args[0] == "git-upload-pack") {
		s.log.Info("git", "user", user, "service", args[0], "repo", args[1])
		code = s.cfg.Git(ctx, io, args[0], args[1])
	} else {
		s.log.Info("command", "user", user, "args", args)
		code = s.cfg.Command(ctx, io)
	}
	if ctx.Err() != nil {
		// The connection ended under the command (idle, or the client
		// went): it was cut short, not done, so no status is reported.
		sess.Close()
		return
	}
	sess.Exit(code)
}

// LoadHostKey reads the ed25519 host key at path, creating it on first use.
func LoadHostKey(path string) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		data, err = newHostKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	return signer, nil
}

func newHostKey(path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "nua host key")
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(block)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	return data, f.Close()
}
