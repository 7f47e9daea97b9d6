package dev

import (
	"io"
	"sync"
	"time"

	"github.com/nua-paas/nua/procman"
)

// systemName prefixes nua's own lines, as foreman's "system".
const systemName = "system"

// palette is the colour cycle of the process prefixes, foreman's: cyan,
// yellow, green, magenta, red, blue, then their bright forms.
var palette = []string{"36", "33", "32", "35", "31", "34", "96", "93", "92", "95", "91", "94"}

const (
	systemColor = "1" // bold
	reset       = "\x1b[0m"
)

// printer writes each line as "HH:MM:SS web.1  | text", the names padded
// to one width, the prefix coloured per process when color is set. Lines
// are written whole, one Write each.
type printer struct {
	w      io.Writer
	color  bool
	width  int
	colors map[string]string // by process name

	mu  sync.Mutex
	buf []byte
}

// newPrinter returns a printer for the processes names.
func newPrinter(w io.Writer, names []string, color bool) *printer {
	p := &printer{w: w, color: color, width: len(systemName), colors: map[string]string{systemName: systemColor}}
	for i, n := range names {
		p.width = max(p.width, len(n))
		p.colors[n] = palette[i%len(palette)]
	}
	return p
}

// line prints a procman line: process output under the process's name,
// events under "system".
func (p *printer) line(l procman.Line) {
	if l.Event {
		p.print(l.Time, systemName, l.Name+": "+l.Text)
		return
	}
	p.print(l.Time, l.Name, l.Text)
}

// system prints one of nua's own lines.
func (p *printer) system(text string) { p.print(time.Now(), systemName, text) }

func (p *printer) print(t time.Time, name, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buf[:0]
	if p.color {
		b = append(append(append(b, "\x1b["...), p.colors[name]...), 'm')
	}
	b = t.Local().AppendFormat(b, "15:04:05")
	b = append(append(b, ' '), name...)
	for range p.width - len(name) {
		b = append(b, ' ')
	}
	b = append(b, " |"...)
	if p.color {
		b = append(b, reset...)
	}
	b = append(append(append(b, ' '), text...), '\n')
	p.buf = b
	p.w.Write(b) // a terminal gone away is no reason to stop the processes
}
