package rust

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"github.com/nua-paas/nua/internal/excerpt"
	"github.com/nua-paas/nua/toolchains/internal/srcfile"
	"github.com/nua-paas/nua/toolchains/internal/version"
)

// maxPinFile bounds the pin file the toolchain reads.
const maxPinFile = 64 << 10

// pin is the toolchain channel an app asks for: a version ("1.70",
// "1.70.0"), stable, beta or nightly (with an optional date). The zero pin
// asks for nothing.
type pin struct {
	file    string // the file it came from
	channel string // as written
	version []int  // for a version channel
}

var (
	versionChannelRE = regexp.MustCompile(`^([0-9]{1,4})\.([0-9]{1,4})(?:\.([0-9]{1,4}))?$`)
	namedChannelRE   = regexp.MustCompile(`^(stable|beta|nightly)(?:-[0-9]{4}-[0-9]{2}-[0-9]{2})?$`)
)

// readPin reads rust-toolchain.toml, or the older rust-toolchain file (a
// channel alone, or the same TOML); neither pins nothing.
func readPin(src string) (pin, error) {
	for _, name := range []string{"rust-toolchain.toml", "rust-toolchain"} {
		data, err := srcfile.Read(src, name, maxPinFile)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return pin{}, err
		}
		return parsePin(name, string(data))
	}
	return pin{}, nil
}

// parsePin reads the channel of a toolchain file: `channel = "..."` in
// its [toolchain] table, or, in a legacy rust-toolchain file, the file's
// one line.
func parsePin(name, data string) (pin, error) {
	trimmed := strings.TrimSpace(data)
	if name == "rust-toolchain" && !strings.Contains(trimmed, "[") && !strings.Contains(trimmed, "\n") {
		return newPin(name, trimmed)
	}
	table := ""
	for _, raw := range strings.Split(data, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			table = strings.TrimSpace(strings.Trim(line, "[]"))
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || table != "toolchain" || strings.TrimSpace(key) != "channel" {
			continue
		}
		value, _, _ = strings.Cut(strings.TrimSpace(value), "#")
		ch, err := strconv.Unquote(strings.TrimSpace(value))
		if err != nil {
			return pin{}, fmt.Errorf("%s: channel %s is not a quoted string", name, excerpt.Of(value))
		}
		return newPin(name, ch)
	}
	return pin{}, nil // a pin of components or a path only: nothing to check
}

func newPin(file, channel string) (pin, error) {
	p := pin{file: file, channel: channel}
	if m := versionChannelRE.FindStringSubmatch(channel); m != nil {
		for _, part := range m[1:] {
			if part != "" {
				n, _ := strconv.Atoi(part)
				p.version = append(p.version, n)
			}
		}
		return p, nil
	}
	if namedChannelRE.MatchString(channel) {
		return p, nil
	}
	return pin{}, fmt.Errorf("%s: channel %q is not one nua can check: use a version like 1.70, or stable, beta or nightly", file, excerpt.Of(channel))
}

// String returns the channel asked for; "" when none.
func (p pin) String() string { return p.channel }

// check compares the pin with the host's rustc release ("1.95.0",
// "1.96.0-nightly"). A version channel needs that version or a newer one,
// which compiles the same code; beta and nightly need a rustc of that
// channel.
func (p pin) check(release string) error {
	if p.channel == "" {
		return nil
	}
	host, hostChannel, _ := strings.Cut(release, "-")
	hostChannel, _, _ = strings.Cut(hostChannel, ".") // "beta.3" is beta
	wantChannel := strings.SplitN(p.channel, "-", 2)[0]
	switch {
	case p.version != nil:
		if version.ComparePrefix(parseNumbers(host), p.version) < 0 {
			return fmt.Errorf("%s asks for Rust %s but the server has rustc %s: install Rust %s or newer on the server, or change the channel",
				p.file, p.channel, release, p.channel)
		}
	case wantChannel == "beta" || wantChannel == "nightly":
		if hostChannel != wantChannel {
			return fmt.Errorf("%s asks for Rust %s but the server has rustc %s (%s): install a %s toolchain on the server, or use channel = \"stable\"",
				p.file, p.channel, release, or(hostChannel, "stable"), wantChannel)
		}
	}
	return nil
}

// note names the pin for the output.
func (p pin) note() string {
	if p.channel == "" {
		return ""
	}
	return fmt.Sprintf(" (%s: %s)", p.file, p.channel)
}

func parseNumbers(v string) []int {
	var nums []int
	for _, part := range strings.Split(v, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			break
		}
		nums = append(nums, n)
	}
	return nums
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
