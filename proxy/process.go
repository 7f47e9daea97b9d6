package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is one run of the Traefik binary.
type process struct {
	cmd     *exec.Cmd
	logFrom int64 // size of the log file when it started
	started time.Time
	done    chan struct{} // closed once it has exited and err is set
	err     error
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits; SIGKILL once ctx ends or timeout passes.
func (p *process) stop(ctx context.Context, timeout time.Duration) error {
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop traefik: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	case <-timer.C:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill traefik: %w", err)
	}
	<-p.done
	return nil
}

// memoryEnv sizes Traefik's Go runtime for a small server: a collection
// at half the default heap growth, and a soft limit past which it
// collects harder (never a hard cap: a busy proxy may go over).
var memoryEnv = []string{"GOGC=50", "GOMEMLIMIT=48MiB"}

// start runs Traefik with the static configuration, its output appended
// to the log file, and records it as the current process. It refuses to
// start once Close has begun.
func (t *Traefik) start() (*process, error) {
	logf, err := os.OpenFile(t.cfg.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open traefik log: %w", err)
	}
	defer logf.Close()
	fi, err := logf.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat traefik log: %w", err)
	}
	cmd := exec.Command(t.cfg.Binary, "--configFile="+t.staticFile())
	cmd.Dir = t.cfg.Dir
	cmd.Env = append(os.Environ(), memoryEnv...)
	if t.cfg.HTTPS != nil && t.cfg.HTTPS.CARoots != "" {
		cmd.Env = append(cmd.Env, "LEGO_CA_CERTIFICATES="+t.cfg.HTTPS.CARoots)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	p := &process{cmd: cmd, logFrom: fi.Size(), done: make(chan struct{})}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return nil, errors.New("start traefik: closing")
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start traefik: %w", err)
	}
	p.started = time.Now()
	t.proc = p
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Restart delays: doubled at each death while Traefik keeps dying young.
const (
	minDelay = 100 * time.Millisecond
	maxDelay = 10 * time.Second
	healthy  = 30 * time.Second // a run this long resets the delay
)

// supervise restarts Traefik whenever it exits, until ctx ends.
func (t *Traefik) supervise(ctx context.Context, p *process) {
	defer t.wg.Done()
	delay := minDelay
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.done:
		}
		if time.Since(p.started) > healthy {
			delay = minDelay
		}
		t.log.Error("traefik exited, restarting", "pid", p.pid(), "err", p.err, "in", delay, "log", t.logTail(p))
		if p = t.restart(ctx, &delay); p == nil {
			return
		}
		t.log.Info("traefik restarted", "pid", p.pid())
	}
}

// restart starts Traefik after *delay, retrying with longer delays; nil
// once ctx ends.
func (t *Traefik) restart(ctx context.Context, delay *time.Duration) *process {
	for {
		timer := time.NewTimer(*delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		*delay = min(*delay*2, maxDelay)
		p, err := t.start()
		if err == nil {
			return p
		}
		if ctx.Err() != nil {
			return nil
		}
		t.log.Error("restart traefik", "err", err)
	}
}

// waitReady polls until Traefik's API answers and its web entrypoint
// accepts connections; it fails early when the process exits.
func (t *Traefik) waitReady(ctx context.Context, p *process) error {
	api := "http://" + t.APIAddr() + "/api/overview"
	web := dialAddr(t.cfg.HTTPAddr)
	var last error
	err := poll(ctx, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("start traefik: exited (%v): %s", p.err, t.logTail(p))
		}
		if last = t.get(ctx, api); last != nil {
			return false, nil
		}
		c, err := net.DialTimeout("tcp", web, time.Second)
		if last = err; err != nil {
			return false, nil
		}
		c.Close()
		return true, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("wait for traefik to serve: %w (last: %v; log: %s)", err, last, t.logTail(p))
	}
	return err
}

// get requires a 200 answer from url.
func (t *Traefik) get(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// dialAddr is where to connect to reach a listener on addr.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// logTail is the end of what p wrote to the log file.
func (t *Traefik) logTail(p *process) string {
	const tail = 2048
	f, err := os.Open(t.cfg.LogFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	from := max(p.logFrom, fi.Size()-tail)
	buf := make([]byte, fi.Size()-from)
	n, _ := f.ReadAt(buf, from)
	return strings.TrimSpace(string(buf[:n]))
}

// poll calls check at once and then every 10ms until it is done, fails,
// or ctx ends.
func poll(ctx context.Context, check func() (bool, error)) error {
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for {
		ok, err := check()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}
