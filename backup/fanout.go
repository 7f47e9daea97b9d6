package backup

import (
	"context"
	"errors"
	"io"
)

// fanout writes one stream to every target at once, each through a pipe
// its Put reads. A target that fails drops out; the others go on.
type fanout struct {
	outs []*fanoutTarget
}

type fanoutTarget struct {
	name string
	pw   *io.PipeWriter
	dead bool
	done chan error
}

// targetResult is how one target fared.
type targetResult struct {
	name string
	err  error
}

func newFanout(ctx context.Context, key string, targets []namedTarget) *fanout {
	f := &fanout{}
	for _, t := range targets {
		pr, pw := io.Pipe()
		ft := &fanoutTarget{name: t.name, pw: pw, done: make(chan error, 1)}
		go func() {
			_, err := t.t.Put(ctx, key, pr)
			if err == nil {
				// Put returned without error before the stream ended only
				// if it read it all.
				pr.Close()
			} else {
				pr.CloseWithError(err)
			}
			ft.done <- err
		}()
		f.outs = append(f.outs, ft)
	}
	return f
}

var errAllFailed = errors.New("every target failed")

// Write implements io.Writer: it fails only when no target is left.
func (f *fanout) Write(p []byte) (int, error) {
	alive := 0
	for _, o := range f.outs {
		if o.dead {
			continue
		}
		if _, err := o.pw.Write(p); err != nil {
			o.dead = true
			continue
		}
		alive++
	}
	if alive == 0 {
		return 0, errAllFailed
	}
	return len(p), nil
}

// close ends every stream, with err when the archive was not made whole
// (so that no target keeps a part of it), and waits for the targets.
func (f *fanout) close(err error) []targetResult {
	var out []targetResult
	for _, o := range f.outs {
		if err != nil {
			o.pw.CloseWithError(err)
		} else {
			o.pw.Close()
		}
	}
	for _, o := range f.outs {
		out = append(out, targetResult{name: o.name, err: <-o.done})
	}
	return out
}
