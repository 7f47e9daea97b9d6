package procman

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxLine is where long output lines are split.
	maxLine = 16 << 10
	// eventStream is the file stem of an app's nua event log (nua.log).
	eventStream = "nua"
	// displayTime is the timestamp layout Logs prints.
	displayTime = "2006-01-02T15:04:05.000000Z07:00"
)

// record is one log line: process output (stream "web.1") or a nua event
// (stream "nua", with the event's source).
type record struct {
	t      time.Time
	stream string
	source string
	text   string
}

// line is the record as stored in its file:
// "<RFC3339Nano> <text>" or, for events, "<RFC3339Nano> <source> <text>".
func (r record) line() []byte {
	b := make([]byte, 0, len(r.text)+len(r.source)+40)
	b = r.t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	if r.stream == eventStream {
		b = append(b, r.source...)
		b = append(b, ' ')
	}
	b = append(b, r.text...)
	return append(b, '\n')
}

// parseRecord parses one stored line of stream's file.
func parseRecord(stream string, line []byte) (record, bool) {
	ts, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return record{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return record{}, false
	}
	r := record{t: t, stream: stream, text: string(rest)}
	if stream == eventStream {
		src, text, _ := strings.Cut(r.text, " ")
		r.source, r.text = src, text
	}
	return r, true
}

// format renders the record the way Logs prints it.
func (r record) format() string {
	ts := r.t.UTC().Format(displayTime)
	if r.stream == eventStream {
		return ts + " nua[" + r.source + "]: " + r.text
	}
	return ts + " app[" + r.stream + "]: " + r.text
}

// toLine returns the record as Config.Output receives it.
func (r record) toLine(app string) Line {
	if r.stream == eventStream {
		return Line{Time: r.t, App: app, Name: r.source, Event: true, Text: r.text}
	}
	return Line{Time: r.t, App: app, Name: r.stream, Text: r.text}
}

// matches reports whether the record belongs to process type typ ("" = all).
// Events match through their source ("web.1" matches "web").
func (r record) matches(typ string) bool {
	if typ == "" {
		return true
	}
	name := r.stream
	if r.stream == eventStream {
		name = r.source
	}
	t, _, _ := strings.Cut(name, ".")
	return t == typ
}

// Line is one logged line, as Config.Output receives it.
type Line struct {
	Time  time.Time // when it was logged, UTC
	App   string    // the app
	Name  string    // the process ("web.1"); for an event, its source ("web.1", "deploy")
	Event bool      // a nua event about the process rather than its output
	Text  string    // the line, without its newline
}

// logFile appends timestamped lines to one stream's file, rotates it and
// publishes every line to the hub and the output. It keeps the file open
// while held. Without a path it writes no file.
type logFile struct {
	app, stream, path string
	maxSize           int64
	keep              int
	hub               *hub
	output            func(Line)
	log               *slog.Logger

	mu      sync.Mutex
	f       *os.File
	size    int64
	last    time.Time
	refs    int
	failing bool
}

// hold keeps the file open until the matching release.
func (l *logFile) hold() {
	l.mu.Lock()
	l.refs++
	l.mu.Unlock()
}

func (l *logFile) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refs--
	if l.refs <= 0 {
		l.refs = 0
		l.closeFile()
	}
}

// write appends one line. Timestamps are strictly increasing per stream, so
// followers can tell lines they already read from new ones.
func (l *logFile) write(source, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now().UTC().Round(0)
	if !now.After(l.last) {
		now = l.last.Add(time.Nanosecond)
	}
	l.last = now
	rec := record{t: now, stream: l.stream, source: source, text: text}
	if l.path != "" {
		l.store(rec)
	}
	l.hub.publish(l.app, rec)
	if l.output != nil {
		l.output(rec.toLine(l.app))
	}
}

// store appends rec to the file, logging the first of a run of errors.
func (l *logFile) store(rec record) {
	if err := l.append(rec.line()); err != nil {
		if !l.failing {
			l.log.Error("write log", "path", l.path, "err", err)
		}
		l.failing = true
	} else {
		l.failing = false
	}
	if l.refs == 0 {
		l.closeFile()
	}
}

func (l *logFile) append(line []byte) error {
	if err := l.open(); err != nil {
		return err
	}
	if l.size > 0 && l.size+int64(len(line)) > l.maxSize {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(line)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("append %s: %w", l.path, err)
	}
	return nil
}

func (l *logFile) open() error {
	if l.f != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o750); err != nil {
		return fmt.Errorf("create log dir: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log: %w", err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// rotate shifts path.N-1 → path.N … path → path.1 and opens a fresh file.
func (l *logFile) rotate() error {
	l.closeFile()
	for i := l.keep - 1; i >= 1; i-- {
		err := os.Rename(rotatedName(l.path, i), rotatedName(l.path, i+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate log: %w", err)
		}
	}
	var err error
	if l.keep > 0 {
		err = os.Rename(l.path, rotatedName(l.path, 1))
	} else {
		err = os.Remove(l.path)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotate log: %w", err)
	}
	return l.open()
}

func (l *logFile) closeFile() {
	if l.f == nil {
		return
	}
	if err := l.f.Close(); err != nil {
		l.log.Error("close log", "path", l.path, "err", err)
	}
	l.f, l.size = nil, 0
}

func rotatedName(path string, i int) string { return fmt.Sprintf("%s.%d", path, i) }

// copyLines writes r's output to lf line by line, splitting lines longer
// than maxLine, until r ends.
func copyLines(r io.Reader, lf *logFile) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
			lf.write("", string(b))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// hub fans log records out to followers, per app. Publishing never blocks:
// a follower whose buffer is full loses the record and is told how many.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{}
}

type subscriber struct {
	ch      chan record
	dropped atomic.Int64
}

// followBuffer is how many records a follower may lag behind before drops.
const followBuffer = 4096

func (h *hub) subscribe(app string) *subscriber {
	s := &subscriber{ch: make(chan record, followBuffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[string]map[*subscriber]struct{}{}
	}
	if h.subs[app] == nil {
		h.subs[app] = map[*subscriber]struct{}{}
	}
	h.subs[app][s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(app string, s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[app], s)
	if len(h.subs[app]) == 0 {
		delete(h.subs, app)
	}
}

func (h *hub) publish(app string, r record) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[app] {
		select {
		case s.ch <- r:
		default:
			s.dropped.Add(1)
		}
	}
}
