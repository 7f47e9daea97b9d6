package sshd

import (
	"net"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// maxTrackedAddrs bounds the table of addresses with recent failed logins:
// past it, expired records go first, then the least recently seen.
const maxTrackedAddrs = 10000

// guard is one connection on its way to being authenticated: it holds one
// of the server's unauthenticated slots until then, and is closed when
// the handshake timeout passes first.
type guard struct {
	srv   *Server
	addr  string // the limiter's key for the peer
	conn  net.Conn
	timer *time.Timer

	mu       sync.Mutex
	authed   bool // the client authenticated
	failed   bool // the client offered credentials that were refused
	timedOut bool // the handshake timeout closed the connection
	released bool // the unauthenticated slot is given back
	ended    bool
}

// admit decides on a new connection: nil when its address is refused or
// too many connections are still unauthenticated, else the connection to
// serve, watched by a guard.
func (s *Server) admit(conn net.Conn) (*guard, net.Conn) {
	addr := limiterKey(conn.RemoteAddr())
	if left, refused := s.limit.refused(addr); refused {
		// Lines before the version string are allowed (RFC 4253 4.2);
		// `ssh -v` shows them.
		conn.SetDeadline(time.Now().Add(time.Second))
		conn.Write([]byte("nua: too many failed logins from your address; try again in " + left.Round(time.Second).String() + "\r\n"))
		// Read the client's version line, so that closing sends no reset
		// and the client sees the connection closed, not broken.
		conn.Read(make([]byte, 256))
		return nil, nil
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.warnFull()
		return nil, nil
	}
	g := &guard{srv: s, addr: addr, conn: conn}
	g.timer = time.AfterFunc(s.cfg.HandshakeTimeout, g.timeout)
	return g, guardedConn{conn, g}
}

// warnFull logs, at most once a minute, that connections are dropped for
// want of unauthenticated slots.
func (s *Server) warnFull() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := time.Now(); now.Sub(s.lastFull) > time.Minute {
		s.lastFull = now
		s.log.Warn("too many unauthenticated connections: dropping new ones", "max", s.cfg.MaxUnauthenticated)
	}
}

// authLog is called after each authentication attempt of the connection.
func (g *guard) authLog(_ gossh.ConnMetadata, method string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case err == nil:
		g.authed = true
		g.timer.Stop()
		g.release()
	case method != "none": // clients start by asking which methods exist
		g.failed = true
	}
}

func (g *guard) timeout() {
	g.mu.Lock()
	if g.authed {
		g.mu.Unlock()
		return
	}
	g.timedOut = true
	g.mu.Unlock()
	g.conn.Close()
}

// release gives the unauthenticated slot back once; g.mu is held.
func (g *guard) release() {
	if !g.released {
		g.released = true
		<-g.srv.slots
	}
}

// end is called when the connection closes: an unauthenticated one that
// failed or timed out counts against its address.
func (g *guard) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended {
		return
	}
	g.ended = true
	g.timer.Stop()
	g.release()
	if !g.authed && (g.failed || g.timedOut) {
		if g.srv.limit.fail(g.addr) {
			g.srv.log.Warn("address refused after failed logins", "addr", g.addr,
				"failures", g.srv.cfg.MaxAuthFailures, "within", g.srv.cfg.FailureWindow, "for", g.srv.cfg.BanTime)
		}
	}
}

// guardedConn tells its guard when it closes.
type guardedConn struct {
	net.Conn
	g *guard
}

func (c guardedConn) Close() error {
	c.g.end()
	return c.Conn.Close()
}

// limiterKey is the address failures are counted against: the IP, or its
// /64 for IPv6, where one host commonly holds a whole /64.
func limiterKey(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if ip4 := tcp.IP.To4(); ip4 != nil {
		return ip4.String()
	}
	return tcp.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// limiter counts failed logins per address and refuses an address that
// failed max times within window, for ban. Its table holds at most size
// addresses; records expire once their window and ban are over.
type limiter struct {
	max         int
	window, ban time.Duration
	size        int
	now         func() time.Time

	mu        sync.Mutex
	addrs     map[string]*record
	lastSweep time.Time
}

type record struct {
	first time.Time // start of the current window
	n     int       // failures in it
	until time.Time // refused until then
	seen  time.Time // last failure
}

func newLimiter(max int, window, ban time.Duration, size int) *limiter {
	return &limiter{max: max, window: window, ban: ban, size: size, now: time.Now, addrs: map[string]*record{}}
}

// refused reports whether addr is refused now, and for how long still.
func (l *limiter) refused(addr string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.addrs[addr]
	if r == nil {
		return 0, false
	}
	left := r.until.Sub(l.now())
	return left, left > 0
}

// fail counts a failure of addr and reports whether it made addr refused.
func (l *limiter) fail(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) > l.window {
		l.sweep(now)
	}
	r := l.addrs[addr]
	if r == nil {
		if len(l.addrs) >= l.size {
			l.sweep(now)
		}
		if len(l.addrs) >= l.size {
			l.evictOldest()
		}
		r = &record{first: now}
		l.addrs[addr] = r
	}
	r.seen = now
	if now.Sub(r.first) > l.window {
		r.first, r.n = now, 0
	}
	r.n++
	if r.n < l.max {
		return false
	}
	r.first, r.n, r.until = now, 0, now.Add(l.ban)
	return true
}

// sweep drops the records whose window and ban are over.
func (l *limiter) sweep(now time.Time) {
	l.lastSweep = now
	for a, r := range l.addrs {
		if now.Sub(r.first) > l.window && !now.Before(r.until) {
			delete(l.addrs, a)
		}
	}
}

func (l *limiter) evictOldest() {
	var oldest string
	var at time.Time
	for a, r := range l.addrs {
		if oldest == "" || r.seen.Before(at) {
			oldest, at = a, r.seen
		}
	}
	delete(l.addrs, oldest)
}

// tracked is the number of addresses in the table.
func (l *limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs)
}
