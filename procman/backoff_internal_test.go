package procman

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name    string
		uptimes []time.Duration
		want    []time.Duration
	}{
		{name: "doubles to max", uptimes: []time.Duration{0, 0, 0, 0, 0}, want: []time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms, 80 * ms}},
		{name: "resets after staying up max", uptimes: []time.Duration{0, 0, 80 * ms, 0}, want: []time.Duration{10 * ms, 20 * ms, 10 * ms, 20 * ms}},
		{name: "short uptime keeps growing", uptimes: []time.Duration{0, 79 * ms, 79 * ms}, want: []time.Duration{10 * ms, 20 * ms, 40 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := backoff{min: 10 * ms, max: 80 * ms}
			for i, up := range tt.uptimes {
				if got := b.next(up); got != tt.want[i] {
					t.Fatalf("next #%d (uptime %s) = %s, want %s", i, up, got, tt.want[i])
				}
			}
		})
	}
}
