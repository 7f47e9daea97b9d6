package version_test

import (
	"testing"

	"github.com/nua-paas/nua/toolchains/internal/version"
)

func TestComparePrefix(t *testing.T) {
	tests := []struct {
		name string
		a, b []int
		want int
	}{
		{"same", []int{3, 1, 2}, []int{3, 1, 2}, 0},
		{"pin is a prefix", []int{3, 1, 2}, []int{3, 1}, 0},
		{"older", []int{3, 0, 9}, []int{3, 1}, -1},
		{"newer", []int{3, 2}, []int{3, 1, 5}, 1},
		{"missing counts as 0", []int{3}, []int{3, 0, 1}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := version.ComparePrefix(tt.a, tt.b); got != tt.want {
				t.Fatalf("ComparePrefix(%v, %v)=%d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
