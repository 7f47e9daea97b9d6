package ruby

import "testing"

func TestVersionCheck(t *testing.T) {
	tests := []struct {
		pin, host string
		ok        bool
	}{
		{"", "3.1.2", true},
		{"3.1", "3.1.2", true},
		{"3.1.2", "3.1.2", true},
		{"3.0.6", "3.1.2", true},
		{"3.1.3", "3.1.2", false},
		{"3.2", "3.1.2", false},
		{"2.7", "3.1.2", false},
		{"4.0", "3.1.2", false},
	}
	for _, tt := range tests {
		var v rubyVersion
		if tt.pin != "" {
			var err error
			if v, err = parseRubyVersion(tt.pin); err != nil {
				t.Fatalf("parseRubyVersion(%q): %v", tt.pin, err)
			}
		}
		if err := v.check(tt.host); (err == nil) != tt.ok {
			t.Errorf("pin %q on ruby %s: %v, want ok=%v", tt.pin, tt.host, err, tt.ok)
		}
	}
}

// FuzzParseRubyVersion checks that no .ruby-version line panics and that
// an accepted one prints back as numbers that parse to the same version.
func FuzzParseRubyVersion(f *testing.F) {
	for _, seed := range []string{"3.1", "ruby-3.1.2", "3.1.2-p20", "jruby-9.4", "", "3..1", "99999.1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseRubyVersion(s)
		if err != nil {
			return
		}
		if len(v) < 2 || len(v) > 3 {
			t.Fatalf("parseRubyVersion(%q) = %v", s, v)
		}
		again, err := parseRubyVersion(v.String())
		if err != nil || again.String() != v.String() {
			t.Fatalf("%q -> %q -> %v, %v", s, v, again, err)
		}
	})
}
