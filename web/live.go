package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/commands"
)

// live streams the app page's updates as Server-Sent Events: "log" events
// with the app's log lines as they come (a deploy's steps among them) and
// "state" events with its release and processes whenever they change.
func (s *Server) live(w http.ResponseWriter, r *http.Request, sess *session, who nua.Identity) error {
	app := r.PathValue("app")
	if err := commands.Allow(s.p, who, "logs", app); err != nil {
		return err
	}
	return s.streamState(w, r, app, nua.LogOptions{Lines: 30, Follow: true}, true)
}

// stream streams the app's logs as Server-Sent Events.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, app string, opt nua.LogOptions) error {
	return s.streamState(w, r, app, opt, false)
}

func (s *Server) streamState(w http.ResponseWriter, r *http.Request, app string, opt nua.LogOptions, state bool) error {
	if _, err := s.p.App(app); err != nil {
		return err
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errStreaming
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ev := &events{w: w, f: flusher}
	ev.send("hello", "")
	ctx := r.Context()
	done := make(chan error, 1)
	go func() { done <- s.p.Logs(ctx, app, opt, &lineWriter{emit: func(line string) { ev.send("log", line) }}) }()
	if !state {
		<-done
		return nil
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := ""
	for {
		if st := s.state(app); st != last {
			ev.send("state", st)
			last = st
		}
		select {
		case <-done:
			return nil
		case <-t.C:
		}
	}
}

var errStreaming = errors.New("this connection cannot stream")

// state is the app's release and processes as JSON, for the page's live
// updates.
func (s *Server) state(app string) string {
	a, err := s.p.App(app)
	if err != nil {
		return `{"gone":true}`
	}
	st, _ := s.p.Ps(app)
	type proc struct {
		Name, State, Memory string
		Restarts, Release   int
	}
	procs := make([]proc, 0, len(st))
	for _, p := range st {
		procs = append(procs, proc{p.Name, p.State, memory(p.Memory), p.Restarts, p.Release})
	}
	b, _ := json.Marshal(map[string]any{"release": a.Release, "procs": procs})
	return string(b)
}

// events writes Server-Sent Events, one at a time.
type events struct {
	mu sync.Mutex
	w  http.ResponseWriter
	f  http.Flusher
}

func (e *events) send(name, data string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	b.WriteString("event: " + name + "\n")
	for line := range strings.SplitSeq(data, "\n") {
		b.WriteString("data: " + strings.TrimRight(line, "\r") + "\n")
	}
	b.WriteString("\n")
	e.w.Write([]byte(b.String()))
	e.f.Flush()
}

// lineWriter calls emit with each complete line written to it.
type lineWriter struct {
	buf  []byte
	emit func(string)
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 { // a line that never ends goes out in pieces
		l.emit(string(l.buf))
		l.buf = l.buf[:0]
	}
	return len(p), nil
}
