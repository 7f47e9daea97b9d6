package python

import (
	"strings"
	"testing"
)

func TestReusable(t *testing.T) {
	tests := []struct {
		name, requirements string
		want               bool
		why                string
	}{
		{"empty", "", true, ""},
		{"released packages", "flask==3.0.0\nrequests>=2 ; python_version > '3.8'\n--index-url https://pypi.example.org/simple\n", true, ""},
		{"URL pin", "pkg @ https://example.org/pkg-1.0.tar.gz#sha256=abc\n", true, ""},
		{"local path", "flask\n./libs/mine  # ours\n", false, `a local path ("./libs/mine")`},
		{"local path by name", "mine @ file:///srv/mine\n", false, "a local path"},
		{"other file", "-r base.txt\n", false, `another file ("-r base.txt")`},
		{"constraints", "--constraint c.txt\n", false, "another file"},
		{"editable", "-e .\n", false, "an editable install"},
		{"git", "pkg @ git+https://example.org/pkg.git@main\n", false, "a version control reference"},
		{"bare git", "git+https://example.org/pkg.git\n", false, "a version control reference"},
		{"comment only", "# ./not-a-path\n", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := reusable(tt.requirements)
			if ok != tt.want || !strings.Contains(why, tt.why) {
				t.Fatalf("reusable=%v, %q, want %v, %q", ok, why, tt.want, tt.why)
			}
		})
	}
}

func TestAbsShebang(t *testing.T) {
	const bin = "/srv/apps/x/.build-1/.venv/bin"
	tests := []struct {
		name, script string
		interp, rest string
		ok           bool
	}{
		{"shebang", "#!" + bin + "/python3\nimport sys\n", "python3", "import sys\n", true},
		{"long-path trampoline", "#!/bin/sh\n'''exec' \"" + bin + "/python\" \"$0\" \"$@\"\n' '''\nimport sys\n", "python", "import sys\n", true},
		{"other interpreter", "#!/usr/bin/python3\nimport sys\n", "", "", false},
		{"another dir", "#!" + bin + "x/python3\n", "", "", false},
		{"not python", "#!" + bin + "/bash\n", "", "", false},
		{"arguments", "#!" + bin + "/python -E\n", "", "", false},
		{"already relocated", "#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")\"/python \"$0\" \"$@\"\n' '''\n", "", "", false},
		{"binary", "\x7fELF\x02\x01", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			interp, rest, ok := absShebang([]byte(tt.script), bin)
			if ok != tt.ok || (ok && (interp != tt.interp || string(rest) != tt.rest)) {
				t.Fatalf("absShebang=%q, %q, %v, want %q, %q, %v", interp, rest, ok, tt.interp, tt.rest, tt.ok)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	for _, tt := range []struct {
		version, want string
		match         bool
	}{
		{"3.11.7", "3", true}, {"3.11.7", "3.11", true}, {"3.11.7", "3.11.7", true},
		{"3.11.7", "3.1", false}, {"3.11.7", "3.11.6", false}, {"3.13.0rc1", "3.13", true}, {"3.13.0rc1", "3.13.0", false},
	} {
		if got := versionMatches(tt.version, tt.want); got != tt.match {
			t.Errorf("versionMatches(%q, %q)=%v, want %v", tt.version, tt.want, got, tt.match)
		}
	}
	for s, want := range map[string]bool{"3": true, "3.11": true, "3.11.7": true, "3.13.0rc1": true, "system": false, "3.11.7.1": false, "pypy3.10": false, "": false, "3.": false} {
		if got := isVersion(s); got != want {
			t.Errorf("isVersion(%q)=%v, want %v", s, got, want)
		}
	}
}

// FuzzReusable checks that any requirements file is classified without
// panicking, and that a reason is given exactly when it is not reusable.
func FuzzReusable(f *testing.F) {
	for _, seed := range []string{"flask==3\n", "-r x.txt\n", "./a\n", "a @ git+https://x\n", "# c\n\n", "-e .", "a @"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, requirements string) {
		ok, why := reusable(requirements)
		if ok != (why == "") {
			t.Fatalf("reusable(%q)=%v, %q", requirements, ok, why)
		}
	})
}

// FuzzPins checks that version pins are matched without panicking and that
// a pin always matches the version it names.
func FuzzPins(f *testing.F) {
	for _, seed := range []string{"3.11.7", "3", "3.13.0rc1", "system", "python-3.11"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if isVersion(v) && !versionMatches(v, v) {
			t.Fatalf("version %q does not match itself", v)
		}
	})
}
