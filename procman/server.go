package procman

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// startServer starts a run of the process's Server on its port.
func (p *Process) startServer() (*run, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.spec.Port)))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.spec.Name(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	rn := &run{cancel: cancel, started: time.Now(), exited: make(chan struct{}), drained: make(chan struct{})}
	go func() {
		copyLines(pr, p.out)
		close(rn.drained)
	}()
	go func() {
		rn.err = p.spec.Server(ctx, ln, pw)
		ln.Close()
		pw.Close()
		close(rn.exited)
	}()
	p.event("Starting %q in nua on port %d", p.spec.Command, p.spec.Port)
	p.log.Info("server started", "port", p.spec.Port)
	p.setState(StateUp, func(st *Status) { st.PID, p.cur = 0, rn })
	return rn, nil
}

// reapServer waits until a Server's run ended, or until deadline, then
// cancels it for good; it returns how it ended.
func (p *Process) reapServer(rn *run, deadline time.Time, timeoutMsg string) (string, int) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-rn.exited:
	case <-t.C:
		p.event("%s", timeoutMsg)
	case <-p.killCh:
		p.event("Stop cancelled")
	}
	rn.cancel()
	<-rn.exited
	<-rn.drained
	p.mu.Lock()
	p.cur = nil
	p.mu.Unlock()
	exitErr, code := "stopped", 0
	if rn.err != nil {
		exitErr, code = rn.err.Error(), 1
	}
	p.event("Process exited: %s", exitErr)
	p.log.Info("server exited", "status", exitErr)
	return exitErr, code
}
