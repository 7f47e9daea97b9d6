// Package procman supervises an app's processes: it parses Procfiles, runs
// each process in its own process group, restarts crashed processes with
// exponential backoff, captures their output into rotated per-process log
// files and streams those logs to followers.
package procman

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Errors returned by the package; callers test for them with errors.Is.
var (
	// ErrProcfile is wrapped by every Procfile parse error.
	ErrProcfile = errors.New("invalid Procfile")
	// ErrSpec is wrapped by Start when a Spec is unusable.
	ErrSpec = errors.New("invalid process spec")
	// ErrAppName is returned for an app name that is not a DNS label.
	ErrAppName = errors.New("invalid app name")
	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("supervisor closed")
)

// MaxProcfileSize caps the Procfile size ParseProcfile accepts.
const MaxProcfileSize = 64 << 10

// MaxProcessTypes caps the process types of one app: each runs its own
// processes, logs and, for web, health checks.
const MaxProcessTypes = 20

var (
	typeRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	appRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
)

// ValidType reports whether typ is a valid process type name.
func ValidType(typ string) bool { return typeRe.MatchString(typ) }

// Entry is one Procfile line: a process type and the command that runs it.
type Entry struct {
	Type    string
	Command string
}

// Procfile is a parsed Procfile, in file order.
type Procfile []Entry

// Lookup returns the command of the process type typ.
func (p Procfile) Lookup(typ string) (string, bool) {
	for _, e := range p {
		if e.Type == typ {
			return e.Command, true
		}
	}
	return "", false
}

// ParseProcfile reads a Procfile: one `type: command` per line, split on the
// first colon. Blank lines and lines starting with # are ignored. Every error
// wraps ErrProcfile and names the offending line.
func ParseProcfile(r io.Reader) (Procfile, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxProcfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read Procfile: %w", err)
	}
	if len(data) > MaxProcfileSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrProcfile, MaxProcfileSize)
	}
	var (
		p    Procfile
		seen = map[string]int{}
		sc   = bufio.NewScanner(bytes.NewReader(data))
		n    = 0
	)
	sc.Buffer(make([]byte, 0, 4096), MaxProcfileSize+1)
	for sc.Scan() {
		n++
		e, ok, err := parseProcfileLine(sc.Text(), n)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if first, dup := seen[e.Type]; dup {
			return nil, fmt.Errorf("%w: Procfile line %d: duplicate process type %q (first on line %d)",
				ErrProcfile, n, e.Type, first)
		}
		if len(p) == MaxProcessTypes {
			return nil, fmt.Errorf("%w: Procfile line %d: process type %q is one more than the %d an app may have: merge or remove some",
				ErrProcfile, n, e.Type, MaxProcessTypes)
		}
		seen[e.Type] = n
		p = append(p, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read Procfile: %w", err)
	}
	return p, nil
}

// parseProcfileLine parses line number n; ok is false for blank and comment lines.
func parseProcfileLine(line string, n int) (e Entry, ok bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return Entry{}, false, nil
	}
	typ, cmd, found := strings.Cut(line, ":")
	if !found {
		return Entry{}, false, fmt.Errorf("%w: Procfile line %d: missing ':' (want \"type: command\")", ErrProcfile, n)
	}
	typ, cmd = strings.TrimSpace(typ), strings.TrimSpace(cmd)
	if !ValidType(typ) {
		return Entry{}, false, fmt.Errorf("%w: Procfile line %d: process type %q must match [A-Za-z0-9_-]+",
			ErrProcfile, n, typ)
	}
	if cmd == "" {
		return Entry{}, false, fmt.Errorf("%w: Procfile line %d: empty command for process type %q", ErrProcfile, n, typ)
	}
	if strings.ContainsRune(cmd, 0) {
		return Entry{}, false, fmt.Errorf("%w: Procfile line %d: command contains a NUL byte", ErrProcfile, n)
	}
	return Entry{Type: typ, Command: cmd}, true, nil
}
