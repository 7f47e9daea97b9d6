package receiver

import (
	"errors"
	"io"
	"sync/atomic"
)

// DefaultMaxPushSize is the most a push may send unless Config says.
const DefaultMaxPushSize = 1 << 30

// ErrPushTooLarge means a push sent more than the receiver's cap: git
// never got the whole pack, so nothing was stored or deployed.
var ErrPushTooLarge = errors.New("push too large")

// capReader passes on at most max bytes of r; one more byte read marks
// the stream as over the cap and ends it with ErrPushTooLarge.
type capReader struct {
	r    io.Reader
	left int64
	over atomic.Bool
}

func newCapReader(r io.Reader, max int64) *capReader {
	return &capReader{r: r, left: max}
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// At the cap: a whole pack of exactly max bytes is fine, and its
		// pusher sends no more; any more byte is over.
		var b [1]byte
		n, err := c.r.Read(b[:])
		if n > 0 {
			c.over.Store(true)
			return 0, ErrPushTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
