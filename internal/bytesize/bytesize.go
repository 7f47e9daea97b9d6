// Package bytesize reads and writes sizes in bytes as people give them:
// 512M, 1G, 100K, 1536.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// Format writes n bytes the way Parse reads it: 1G, 100K, 1536.
func Format(n int64) string {
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

// Parse reads a size in bytes: a whole number, optionally followed by
// K, M or G (KiB, MiB, GiB; a trailing B or iB is allowed), at least 1
// and at most 1 TiB.
func Parse(s string) (int64, error) {
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
