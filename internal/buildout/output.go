// Package buildout writes build output the way pushers know it: "-----> "
// before a step, seven spaces before its lines and " !     " before a
// warning. Builds and the deploy pipeline write through it.
package buildout

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Prefixes of build output lines, as pushers know them.
const (
	stepPrefix = "-----> "
	infoPrefix = "       "
	warnPrefix = " !     "
)

// Output writes build output the way pushers know it: "-----> " before a
// step, seven spaces before its lines and " !     " before a warning. It is
// safe for concurrent use. A nil *Output discards everything.
type Output struct {
	mu          sync.Mutex
	w           io.Writer
	midLine     bool // the last byte written was not a newline
	writeFailed bool
}

// NewOutput returns an Output writing to w; a nil w discards the output.
func NewOutput(w io.Writer) *Output {
	if w == nil {
		w = io.Discard
	}
	return &Output{w: w}
}

// Step starts a build step: "-----> " + text.
func (o *Output) Step(format string, a ...any) { o.lines(stepPrefix, fmt.Sprintf(format, a...)) }

// Info writes a line of the current step: seven spaces + text.
func (o *Output) Info(format string, a ...any) { o.lines(infoPrefix, fmt.Sprintf(format, a...)) }

// Warn writes a warning: " !     " + text.
func (o *Output) Warn(format string, a ...any) { o.lines(warnPrefix, fmt.Sprintf(format, a...)) }

// lines writes text, the first line after prefix and the others indented so
// they line up with it.
func (o *Output) lines(prefix, text string) {
	if o == nil {
		return
	}
	var sb strings.Builder
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if i == 0 {
			sb.WriteString(prefix)
		} else if prefix == warnPrefix {
			sb.WriteString(warnPrefix)
		} else {
			sb.WriteString(infoPrefix)
		}
		sb.WriteString(line)
		sb.WriteByte('\n')
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.midLine {
		o.write([]byte{'\n'})
	}
	o.write([]byte(sb.String()))
	o.midLine = false
}

// write writes p, remembering a failure so that a gone pusher does not fail
// the build. The caller holds o.mu.
func (o *Output) write(p []byte) {
	if o.writeFailed {
		return
	}
	if _, err := o.w.Write(p); err != nil {
		o.writeFailed = true
	}
}

// Indent returns a writer that prefixes every line with seven spaces, for
// the output of tools. It is safe for concurrent use, so one writer can be
// both Stdout and Stderr of a command.
func (o *Output) Indent() io.Writer {
	if o == nil {
		return io.Discard
	}
	return indentWriter{o}
}

type indentWriter struct{ o *Output }

func (iw indentWriter) Write(p []byte) (int, error) {
	o := iw.o
	o.mu.Lock()
	defer o.mu.Unlock()
	buf := make([]byte, 0, len(p)+len(infoPrefix)*2)
	rest := p
	for len(rest) > 0 {
		if !o.midLine {
			buf = append(buf, infoPrefix...)
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			buf = append(buf, rest...)
			o.midLine = true
			break
		}
		buf = append(buf, rest[:i+1]...)
		rest = rest[i+1:]
		o.midLine = false
	}
	o.write(buf)
	return len(p), nil
}

// Relay returns a writer for the output of an external buildpack. Lines it
// already formats ("-----> " steps, seven-space lines, " !     " warnings)
// pass as they are; other lines are indented like tool output. Output is
// written line by line: call Flush when the program ends. It is safe for
// concurrent use.
func (o *Output) Relay() *Relay { return &Relay{o: o} }

// Relay relays a program's output into an Output; see Output.Relay.
type Relay struct {
	o   *Output
	mu  sync.Mutex
	buf []byte
}

// maxRelayLine bounds a line kept waiting for its newline.
const maxRelayLine = 64 << 10

// Write writes the complete lines of p and keeps the rest for later.
func (r *Relay) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			break
		}
		r.emit(r.buf[:i])
		r.buf = r.buf[i+1:]
	}
	if len(r.buf) > maxRelayLine {
		r.emit(r.buf)
		r.buf = nil
	}
	return len(p), nil
}

// Flush writes a last line that has no newline.
func (r *Relay) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) > 0 {
		r.emit(r.buf)
		r.buf = nil
	}
}

func (r *Relay) emit(line []byte) {
	o := r.o
	if o == nil {
		return
	}
	s := strings.TrimSuffix(string(line), "\r")
	if !strings.HasPrefix(s, stepPrefix) && !strings.HasPrefix(s, infoPrefix) && !strings.HasPrefix(s, warnPrefix) {
		s = infoPrefix + s
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.midLine {
		o.write([]byte{'\n'})
	}
	o.write([]byte(s + "\n"))
	o.midLine = false
}
