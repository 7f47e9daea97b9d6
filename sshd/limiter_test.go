package sshd

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func testLimiter(size int) (*limiter, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLimiter(3, time.Minute, 5*time.Minute, size)
	l.now = clock.now
	return l, clock
}

func TestLimiterWindowAndBan(t *testing.T) {
	l, clock := testLimiter(100)
	for i := range 2 {
		if l.fail("a") {
			t.Fatalf("failure %d refused the address, want the 3rd to", i+1)
		}
	}
	clock.add(61 * time.Second) // the window is over: counting starts again
	l.fail("a")
	l.fail("a")
	if _, refused := l.refused("a"); refused {
		t.Fatal("refused after 2 failures in the window")
	}
	if !l.fail("a") {
		t.Fatal("3rd failure within the window did not refuse the address")
	}
	if left, refused := l.refused("a"); !refused || left != 5*time.Minute {
		t.Fatalf("refused=%t for %v, want 5m", refused, left)
	}
	if _, refused := l.refused("b"); refused {
		t.Fatal("another address is refused")
	}
	clock.add(5 * time.Minute)
	if _, refused := l.refused("a"); refused {
		t.Fatal("still refused after the ban")
	}
}

// TestLimiterBounded checks the table never holds more than its size and
// forgets addresses once their window and ban are over.
func TestLimiterBounded(t *testing.T) {
	const size = 50
	l, clock := testLimiter(size)
	for i := range 10 * size {
		l.fail(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		clock.add(time.Millisecond)
		if n := l.tracked(); n > size {
			t.Fatalf("table holds %d addresses, want at most %d", n, size)
		}
	}
	// The newest address stays when the table is full.
	for range 3 {
		l.fail("192.0.2.1")
	}
	if _, refused := l.refused("192.0.2.1"); !refused {
		t.Fatal("address not refused after 3 failures")
	}
	clock.add(6 * time.Minute)
	l.fail("192.0.2.2") // sweeps: everything else has expired
	if n := l.tracked(); n != 1 {
		t.Fatalf("table holds %d addresses after every record expired, want 1", n)
	}
}

func TestLimiterKey(t *testing.T) {
	tests := []struct {
		name string
		ip   string
		want string
	}{
		{"ipv4", "192.0.2.7", "192.0.2.7"},
		{"ipv4 mapped", "::ffff:192.0.2.7", "192.0.2.7"},
		{"ipv6 by /64", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"same /64", "2001:db8:1:2::1", "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := limiterKey(&net.TCPAddr{IP: net.ParseIP(tt.ip), Port: 22})
			if got != tt.want {
				t.Fatalf("limiterKey(%s)=%q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}
