package node

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

// FuzzParsePackage checks that any package.json content parses or fails
// with an error that names package.json, and never panics.
func FuzzParsePackage(f *testing.F) {
	for _, seed := range []string{
		`{"name": "t", "scripts": {"start": "node server.js"}, "engines": {"node": ">=18"}, "dependencies": {"ms": "^2"}}`,
		`{"scripts": "x"}`, `{"engines": {"node": 18}}`, `[]`, `null`, `{`, "{\n  \"a\": 1,\n}", `{"overrides": {"a": {"b": "1"}}}`, "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePackage(data)
		if err != nil {
			if !strings.Contains(err.Error(), "package.json") {
				t.Fatalf("error %q does not name package.json", err)
			}
			return
		}
		for _, line := range strings.Split(strings.TrimSuffix(p.Deps, "\n"), "\n") {
			if line != "" && !strings.Contains(line, "=") {
				t.Fatalf("Deps line %q", line)
			}
		}
	})
}

// FuzzCheckRange checks that any engines range is either accepted or
// refused with a message naming the file, and never panics.
func FuzzCheckRange(f *testing.F) {
	for _, seed := range []string{">=18", "^20 || ^22", "18.x", "1.2.3 - 2", "latest", "", "*", ">=99"} {
		f.Add(seed)
	}
	found := mustVersion(f, "20.20.2")
	f.Fuzz(func(t *testing.T, want string) {
		if err := checkRange("node", "engines.node in package.json", want, found); err != nil && !strings.HasPrefix(err.Error(), "engines.node in package.json") {
			t.Fatalf("error %q does not start with the file", err)
		}
	})
}

func mustVersion(tb testing.TB, v string) *semver.Version {
	tb.Helper()
	ver, err := semver.NewVersion(v)
	if err != nil {
		tb.Fatal(err)
	}
	return ver
}
