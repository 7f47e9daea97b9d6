package excerpt_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nua-paas/nua/internal/excerpt"
)

func TestOf(t *testing.T) {
	a80 := strings.Repeat("a", 80)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"short", "web=x", "web=x"},
		{"exactly 80 bytes", a80, a80},
		{"81 bytes", a80 + "b", a80 + "..."},
		{"cut inside a two-byte character", strings.Repeat("a", 79) + "é", strings.Repeat("a", 79) + "..."},
		{"cut inside a four-byte character", strings.Repeat("a", 78) + "😀z", strings.Repeat("a", 78) + "..."},
		{"invalid bytes kept as they are", "\xff\xfe" + a80, "\xff\xfe" + strings.Repeat("a", 78) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := excerpt.Of(tt.in); got != tt.want {
				t.Fatalf("Of(%q)=%q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzOf(f *testing.F) {
	f.Add("short")
	f.Add(strings.Repeat("é", 60))
	f.Fuzz(func(t *testing.T, s string) {
		got := excerpt.Of(s)
		if len(s) <= 80 {
			if got != s {
				t.Fatalf("Of(%q)=%q, want it unchanged", s, got)
			}
			return
		}
		kept, ok := strings.CutSuffix(got, "...")
		if !ok || !strings.HasPrefix(s, kept) || len(kept) > 80 || len(kept) < 80-utf8.UTFMax+1 {
			t.Fatalf("Of(%q)=%q: want a prefix of 77 to 80 bytes and ...", s, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(kept) {
			t.Fatalf("Of(%q)=%q splits a character", s, got)
		}
	})
}
