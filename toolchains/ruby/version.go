package ruby

import (
	"bufio"
	"bytes"
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

// maxPinFile bounds the pin files the toolchain reads.
const maxPinFile = 4 << 20

// rubyVersion is the version .ruby-version asks for: two or three numbers,
// or none when the app pins no version.
type rubyVersion []int

// versionRE is a Ruby version as written in .ruby-version: 3.1, 3.1.2,
// ruby-3.1.2 or 3.1.2-p20.
var versionRE = regexp.MustCompile(`^(?:ruby-)?([0-9]{1,4})\.([0-9]{1,4})(?:\.([0-9]{1,4}))?(?:-p[0-9]{1,6})?$`)

// readRubyVersion reads src/.ruby-version; no file pins no version.
func readRubyVersion(src string) (rubyVersion, error) {
	data, err := srcfile.Read(src, ".ruby-version", maxPinFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	return parseRubyVersion(strings.TrimSpace(line))
}

func parseRubyVersion(s string) (rubyVersion, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf(".ruby-version: %q is not a Ruby version: write e.g. 3.1 or 3.1.2", excerpt.Of(s))
	}
	var v rubyVersion
	for _, part := range m[1:] {
		if part != "" {
			n, _ := strconv.Atoi(part)
			v = append(v, n)
		}
	}
	return v, nil
}

// String returns the version as written, e.g. "3.1"; "" when unpinned.
func (v rubyVersion) String() string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ".")
}

// check accepts a host Ruby of the same major version and at least as new
// as the pin: a newer Ruby of the same major version runs the app.
func (v rubyVersion) check(host string) error {
	if len(v) == 0 {
		return nil
	}
	h, err := parseRubyVersion(host)
	if err != nil {
		return fmt.Errorf("host ruby: %w", err)
	}
	if h[0] != v[0] || version.ComparePrefix(h, v) < 0 {
		return fmt.Errorf(".ruby-version asks for ruby %s but the server has ruby %s: install Ruby %s on the server, or change .ruby-version", v, host, v)
	}
	return nil
}

// note says which pin the host's Ruby satisfies, for the output.
func (v rubyVersion) note(host string) string {
	if len(v) == 0 {
		return ""
	}
	return fmt.Sprintf(" (.ruby-version: %s)", v)
}

// leadingVersion returns the dotted version at the start of s ("3.1.2p20"
// gives "3.1.2"), or "".
func leadingVersion(s string) string {
	end := 0
	dots := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.') {
		if s[end] == '.' {
			dots++
		}
		end++
	}
	v := strings.TrimRight(s[:end], ".")
	if dots == 0 || v == "" || v[0] == '.' {
		return ""
	}
	return v
}

// lockInfo is what the toolchain needs from Gemfile.lock.
type lockInfo struct {
	bundler string // BUNDLED WITH, e.g. "2.3.15"; "" if absent
}

// readLock checks that Gemfile.lock exists (deployment mode installs
// exactly what it locks) and reads the Bundler version it was made with.
func readLock(src string) (lockInfo, error) {
	data, err := srcfile.Read(src, "Gemfile.lock", maxPinFile)
	if errors.Is(err, fs.ErrNotExist) {
		return lockInfo{}, errors.New("Gemfile.lock not found: run `bundle lock` and commit Gemfile.lock (nua installs exactly the locked gems)")
	}
	if err != nil {
		return lockInfo{}, err
	}
	var info lockInfo
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxPinFile)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "BUNDLED WITH" && sc.Scan() {
			info.bundler = leadingVersion(strings.TrimSpace(sc.Text()))
		}
	}
	return info, sc.Err()
}

// checkBundler refuses a lockfile made by a newer major version of Bundler
// than the host's, which Bundler would try to download.
func checkBundler(locked, host string) error {
	if locked == "" {
		return nil
	}
	lv, hv := strings.Split(locked, "."), strings.Split(host, ".")
	if lv[0] != hv[0] {
		l, _ := strconv.Atoi(lv[0])
		h, _ := strconv.Atoi(hv[0])
		if l > h {
			return fmt.Errorf("Gemfile.lock asks for Bundler %s but the server has Bundler %s: install Bundler %s on the server, or lock with Bundler %s", locked, host, lv[0], host)
		}
	}
	return nil
}
