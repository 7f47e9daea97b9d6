package receiver

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
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

// FormatSize writes n bytes the way ParseSize reads it: 1G, 100K, 1536.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// ParseSize reads a size in bytes: a whole number, optionally followed by
// K, M or G (KiB, MiB, GiB; a trailing B or iB is allowed), at least 1
// and at most 1 TiB.
func ParseSize(s string) (int64, error) {
	num := strings.TrimSpace(s)
	for _, suffix := range []string{"iB", "B"} {
		if n, ok := strings.CutSuffix(num, suffix); ok && n != "" {
			num = n
			break
		}
	}
	mult := int64(1)
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 1 || v > (1<<40)/mult || strings.HasPrefix(num, "+") {
		return 0, fmt.Errorf("size %q: give a whole number of bytes, or with K, M or G, from 1 to 1024G (e.g. 1G, 100K)", s)
	}
	return v * mult, nil
}
