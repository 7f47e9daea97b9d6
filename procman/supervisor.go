package procman

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua/internal/appname"
)

// Config configures a Supervisor. Zero fields take the documented defaults.
type Config struct {
	// LogDir is the log root; logs go to LogDir/<app>/<type>.<index>.log
	// and events to LogDir/<app>/nua.log. Required unless Output is set;
	// "" then means no log files.
	LogDir string
	// Output, if set, receives every line as it is logged: process output
	// and events, in order within each process. It is called on the
	// goroutine that reads the process's output, so a slow Output slows
	// that process down, as a terminal would. It must not call the
	// Supervisor.
	Output func(Line)
	// Crashed, if set, is told of each exit of a process that the
	// supervisor restarts (app, process name such as "web.1", how it
	// ended). It is called on the process's supervising goroutine and
	// must return soon.
	Crashed func(app, name, how string)
	// Logger receives the supervisor's own diagnostics; nil discards them.
	Logger *slog.Logger
	// StopTimeout is the grace between SIGTERM and SIGKILL; default 10s.
	StopTimeout time.Duration
	// MinBackoff and MaxBackoff bound the restart delay, which doubles on
	// each crash and resets once a process stayed up MaxBackoff; defaults
	// 1s and 60s.
	MinBackoff, MaxBackoff time.Duration
	// MaxLogSize is the size at which a log file is rotated; default 10 MiB.
	MaxLogSize int64
	// LogFiles is how many rotated files (.1, .2, …) are kept; default 3.
	LogFiles int
}

// Config defaults.
const (
	DefaultStopTimeout = 10 * time.Second
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = 60 * time.Second
	DefaultMaxLogSize  = 10 << 20
	DefaultLogFiles    = 3
)

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.MaxLogSize == 0 {
		c.MaxLogSize = DefaultMaxLogSize
	}
	if c.LogFiles == 0 {
		c.LogFiles = DefaultLogFiles
	}
	return c
}

// Validate names the first bad field, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.LogDir == "" && c.Output == nil:
		return errors.New("procman config: LogDir is required unless Output is set")
	case c.StopTimeout < 0:
		return errors.New("procman config: StopTimeout must not be negative")
	case c.MinBackoff < 0:
		return errors.New("procman config: MinBackoff must not be negative")
	case c.MaxBackoff < c.MinBackoff:
		return errors.New("procman config: MaxBackoff must be at least MinBackoff")
	case c.MaxLogSize < 0:
		return errors.New("procman config: MaxLogSize must not be negative")
	case c.LogFiles < 0:
		return errors.New("procman config: LogFiles must not be negative")
	}
	return nil
}

// Supervisor starts and supervises processes and owns their logs.
type Supervisor struct {
	cfg Config
	log *slog.Logger
	hub hub

	mu     sync.Mutex
	procs  map[*Process]struct{}
	files  map[string]*logFile // by app/stream
	closed bool
}

// New returns a Supervisor; it does no I/O.
func New(cfg Config) *Supervisor {
	cfg = cfg.withDefaults()
	return &Supervisor{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "procman"),
		procs: map[*Process]struct{}{},
		files: map[string]*logFile{},
	}
}

// LogDir returns the log root.
func (s *Supervisor) LogDir() string { return s.cfg.LogDir }

// Start starts spec's process and supervises it until Stop or Close. It
// returns once the OS process exists; a process that cannot start at all
// (missing Dir, say) is an error and is not retried.
func (s *Supervisor) Start(spec Spec) (*Process, error) {
	if err := s.cfg.Validate(); err != nil {
		return nil, err
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	p := newProcess(s, spec)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		p.finish()
		return nil, fmt.Errorf("start %s: %w", spec.Name(), ErrClosed)
	}
	s.procs[p] = struct{}{}
	s.mu.Unlock()

	rn, err := p.start()
	if err != nil {
		p.finish()
		return nil, err
	}
	go p.supervise(rn)
	return p, nil
}

// Close stops every process the supervisor started, in parallel, and
// refuses new ones. It returns when all are gone or ctx is done.
func (s *Supervisor) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	procs := make([]*Process, 0, len(s.procs))
	for p := range s.procs {
		procs = append(procs, p)
	}
	s.mu.Unlock()

	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() { errs[i] = p.Stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

var sourceRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// Event appends a nua event (source "deploy", say) to the app's event log
// LogDir/APP/nua.log, so it shows in the app's logs. A multi-line msg
// becomes one event per line. An invalid app name is logged and dropped.
func (s *Supervisor) Event(app, source, msg string) {
	if !appname.Valid(app) {
		s.log.Warn("event for invalid app name dropped", "app", app)
		return
	}
	if !sourceRe.MatchString(source) {
		source = "nua"
	}
	lf := s.logFile(app, eventStream)
	for line := range strings.Lines(msg) {
		lf.write(source, strings.TrimRight(line, "\r\n"))
	}
}

// logFile returns the shared writer of app's stream. Writers live as long as
// the supervisor; their file is open only while a process holds it.
func (s *Supervisor) logFile(app, stream string) *logFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := app + "/" + stream
	if lf, ok := s.files[key]; ok {
		return lf
	}
	lf := &logFile{
		app:     app,
		stream:  stream,
		maxSize: s.cfg.MaxLogSize,
		keep:    s.cfg.LogFiles,
		hub:     &s.hub,
		output:  s.cfg.Output,
		log:     s.log,
	}
	if s.cfg.LogDir != "" {
		lf.path = filepath.Join(s.cfg.LogDir, app, stream+".log")
	}
	s.files[key] = lf
	return lf
}

func (s *Supervisor) forget(p *Process) {
	s.mu.Lock()
	delete(s.procs, p)
	s.mu.Unlock()
}

// Output returns a writer whose lines go to the app's logs as the output of
// process name ("cron.1": a type and an index), as a running process's
// do; Close flushes the last line and must be called.
func (s *Supervisor) Output(app, name string) (io.WriteCloser, error) {
	if !appname.Valid(app) {
		return nil, fmt.Errorf("%w: %q", ErrAppName, app)
	}
	typ, index, ok := strings.Cut(name, ".")
	if !ok || !ValidType(typ) || index == "" || strings.Trim(index, "0123456789") != "" || len(index) > 6 {
		return nil, fmt.Errorf("%w: output name %q: want TYPE.N", ErrSpec, name)
	}
	lf := s.logFile(app, name)
	lf.hold()
	pr, pw := io.Pipe()
	out := &output{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(out.done)
		copyLines(pr, lf)
		pr.Close()
		lf.release()
	}()
	return out, nil
}

// output is what Output returns: a pipe into a log stream.
type output struct {
	pw   *io.PipeWriter
	done chan struct{}
}

func (o *output) Write(p []byte) (int, error) { return o.pw.Write(p) }

func (o *output) Close() error {
	err := o.pw.Close()
	<-o.done
	return err
}
