package appname_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/nua-paas/nua/internal/appname"
)

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"one letter", "a", true},
		{"letters digits dashes", "my-app-2", true},
		{"double dash inside", "a--b", true},
		{"63 characters", "a" + strings.Repeat("b", 62), true},
		{"64 characters", "a" + strings.Repeat("b", 63), false},
		{"empty", "", false},
		{"starts with a digit", "1app", false},
		{"starts with a dash", "-app", false},
		{"ends with a dash", "app-", false},
		{"uppercase", "App", false},
		{"underscore", "my_app", false},
		{"dot", "my.app", false},
		{"slash", "a/b", false},
		{"space", "a b", false},
		{"non-ASCII letter", "café", false},
		{"NUL", "a\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := appname.Valid(tt.in); got != tt.want {
				t.Fatalf("Valid(%q)=%v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// The rule written once more as a regular expression, independently of
// the code under test.
var rule = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

func FuzzValid(f *testing.F) {
	for _, s := range []string{"a", "web-1", "app-", "-a", "A", strings.Repeat("a", 64), "a\xffb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appname.Valid(s), rule.MatchString(s); got != want {
			t.Fatalf("Valid(%q)=%v, want %v", s, got, want)
		}
	})
}
