package rust

import (
	"strings"
	"testing"
)

func TestPinCheck(t *testing.T) {
	tests := []struct {
		file, data, release string
		ok                  bool
	}{
		{"rust-toolchain.toml", "[toolchain]\nchannel = \"1.70\"\n", "1.95.0", true},
		{"rust-toolchain.toml", "[toolchain]\nchannel = \"1.95.0\"\n", "1.95.0", true},
		{"rust-toolchain.toml", "[toolchain]\nchannel = \"1.95.1\"\n", "1.95.0", false},
		{"rust-toolchain.toml", "[toolchain]\nchannel = \"stable\"\n", "1.95.0", true},
		{"rust-toolchain.toml", "[toolchain]\nchannel = \"beta\"\n", "1.96.0-beta.3", true},
		{"rust-toolchain.toml", "[toolchain]\nchannel = \"nightly\"\n", "1.96.0-beta.3", false},
		{"rust-toolchain.toml", "[other]\nchannel = \"nightly\"\n", "1.95.0", true},
		{"rust-toolchain.toml", "[toolchain]\ncomponents = [\"clippy\"]\n", "1.95.0", true},
		{"rust-toolchain", "1.99\n", "1.95.0", false},
		{"rust-toolchain", "[toolchain]\nchannel = 'stable'\n", "1.95.0", false}, // not a TOML basic string nua reads
	}
	for _, tt := range tests {
		p, err := parsePin(tt.file, tt.data)
		if err == nil {
			err = p.check(tt.release)
		}
		if (err == nil) != tt.ok {
			t.Errorf("%s %q on rustc %s: %v, want ok=%v", tt.file, tt.data, tt.release, err, tt.ok)
		}
	}
}

// FuzzParsePin checks that no toolchain file panics the parser and that
// an accepted channel is a version or a named channel.
func FuzzParsePin(f *testing.F) {
	for _, seed := range []string{
		"[toolchain]\nchannel = \"1.70\"\n", "[toolchain]\nchannel = \"nightly-2024-01-01\" # c\n", "1.70", "[toolchain]\nchannel = 'x'",
		"[toolchain]\nchannel = \"\\u0000\"", "channel = \"1.0\"", "[toolchain\nchannel=\"1\"",
	} {
		f.Add("rust-toolchain.toml", seed)
		f.Add("rust-toolchain", seed)
	}
	f.Fuzz(func(t *testing.T, file, data string) {
		p, err := parsePin(file, data)
		if err != nil || p.channel == "" {
			return
		}
		if !versionChannelRE.MatchString(p.channel) && !namedChannelRE.MatchString(p.channel) {
			t.Fatalf("accepted channel %q", p.channel)
		}
		if strings.ContainsAny(p.channel, "\n\x00") {
			t.Fatalf("channel %q", p.channel)
		}
		p.check("1.95.0")
	})
}
