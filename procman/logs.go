package procman

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/nua-paas/nua/internal/appname"
)

// LogOptions selects what Logs prints.
type LogOptions struct {
	Lines  int    // print the last Lines lines; 0 = 100, negative = none
	Follow bool   // then stream new lines until ctx is done
	Type   string // only this process type ("web") and its events; "" = all
}

// DefaultLogLines is how many lines Logs prints when LogOptions.Lines is 0.
const DefaultLogLines = 100

// tailChunk is how much of a log file is read at a time, from its end.
const tailChunk = 64 << 10

// logName matches the files of LogDir/APP: "web.1.log", "nua.log.2".
var logName = regexp.MustCompile(`^(nua|[A-Za-z0-9_-]+\.[0-9]+)\.log(?:\.([0-9]+))?$`)

// Logs writes the app's last lines, from all its processes and events
// merged by time, as "<time> app[web.1]: <line>" or "<time> nua[deploy]: <msg>".
// With Follow it then streams new lines until ctx is done; a follower too
// slow to keep up loses lines (and is told) rather than slowing a process.
// An app without logs, or a supervisor without a LogDir, has no backlog.
func (s *Supervisor) Logs(ctx context.Context, app string, opt LogOptions, w io.Writer) error {
	if !appname.Valid(app) {
		return fmt.Errorf("read logs: %w: %q", ErrAppName, app)
	}
	if opt.Type != "" && !ValidType(opt.Type) {
		return fmt.Errorf("read logs: %w: process type %q", ErrSpec, opt.Type)
	}
	n := opt.Lines
	if n == 0 {
		n = DefaultLogLines
	}
	var sub *subscriber
	if opt.Follow { // before reading, so no line falls between backlog and stream
		sub = s.hub.subscribe(app)
		defer s.hub.unsubscribe(app, sub)
	}
	var (
		recs []record
		seen = map[string]time.Time{}
		err  error
	)
	if s.cfg.LogDir != "" {
		recs, seen, err = readBacklog(filepath.Join(s.cfg.LogDir, app), max(n, 0), opt.Type)
		if err != nil {
			return err
		}
	}
	bw := bufio.NewWriter(w)
	for _, r := range recs {
		bw.WriteString(r.format() + "\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write logs: %w", err)
	}
	if !opt.Follow {
		return nil
	}
	return follow(ctx, sub, seen, opt.Type, w)
}

// follow streams records newer than seen (per stream) until ctx is done.
func follow(ctx context.Context, sub *subscriber, seen map[string]time.Time, typ string, w io.Writer) error {
	for {
		var r record
		select {
		case <-ctx.Done():
			return nil
		case r = <-sub.ch:
		}
		if lost := sub.dropped.Swap(0); lost > 0 {
			note := record{t: time.Now().UTC(), stream: eventStream, source: "logs",
				text: strconv.FormatInt(lost, 10) + " lines dropped: reader too slow"}
			if _, err := io.WriteString(w, note.format()+"\n"); err != nil {
				return fmt.Errorf("write logs: %w", err)
			}
		}
		if !r.matches(typ) || !r.t.After(seen[r.stream]) {
			continue
		}
		if _, err := io.WriteString(w, r.format()+"\n"); err != nil {
			return fmt.Errorf("write logs: %w", err)
		}
	}
}

// readBacklog returns the last n records of dir matching typ, oldest first,
// and the time of the newest line of each stream it read.
func readBacklog(dir string, n int, typ string) ([]record, map[string]time.Time, error) {
	streams, err := listStreams(dir)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]time.Time{}
	var all []record
	for stream, idxs := range streams {
		if stream != eventStream && !(record{stream: stream}).matches(typ) {
			continue
		}
		match := func(r record) bool { return r.matches(typ) }
		need := n
		for _, i := range idxs {
			path := filepath.Join(dir, stream+".log")
			if i > 0 {
				path = rotatedName(path, i)
			}
			recs, last, err := tailFile(path, stream, need, match)
			if err != nil {
				return nil, nil, err
			}
			if last.After(seen[stream]) {
				seen[stream] = last
			}
			all = append(all, recs...)
			need -= len(recs)
			if need <= 0 && !seen[stream].IsZero() {
				break
			}
		}
	}
	slices.SortFunc(all, func(a, b record) int {
		return cmp.Or(a.t.Compare(b.t), cmp.Compare(a.stream, b.stream))
	})
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all, seen, nil
}

// listStreams maps each stream of dir to its files' rotation numbers,
// current file (0) first.
func listStreams(dir string) (map[string][]int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read logs: %w", err)
	}
	streams := map[string][]int{}
	for _, e := range entries {
		m := logName.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		i := 0
		if m[2] != "" {
			if i, err = strconv.Atoi(m[2]); err != nil || i == 0 {
				continue
			}
		}
		streams[m[1]] = append(streams[m[1]], i)
	}
	for _, idxs := range streams {
		slices.Sort(idxs)
	}
	return streams, nil
}

// tailFile reads path backwards and returns up to n of its last records
// that match, newest first, and the time of its last record. A trailing
// line still being written is skipped.
func tailFile(path, stream string, n int, match func(record) bool) (recs []record, last time.Time, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read logs: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read logs: %w", err)
	}
	off := fi.Size()
	var pending []byte // file bytes [off, end), ending in '\n' once trimmed
	trimmed := false
	done := func() bool { return len(recs) >= n && !last.IsZero() }
	for off > 0 && !done() {
		size := min(off, tailChunk)
		off -= size
		chunk := make([]byte, size, int(size)+len(pending))
		if _, err := f.ReadAt(chunk, off); err != nil {
			return nil, time.Time{}, fmt.Errorf("read logs: %w", err)
		}
		pending = append(chunk, pending...)
		if !trimmed {
			j := bytes.LastIndexByte(pending, '\n')
			if j < 0 {
				continue
			}
			pending, trimmed = pending[:j+1], true
		}
		for len(pending) > 0 && !done() {
			body := pending[:len(pending)-1]
			k := bytes.LastIndexByte(body, '\n')
			if k < 0 && off > 0 {
				break // the line starts in an earlier chunk
			}
			line := body[k+1:]
			pending = pending[:k+1]
			r, ok := parseRecord(stream, line)
			if !ok {
				continue
			}
			if last.IsZero() {
				last = r.t
			}
			if len(recs) < n && match(r) {
				recs = append(recs, r)
			}
		}
	}
	return recs, last, nil
}
