package cnb

import (
	"slices"
	"strings"
	"testing"
)

func TestProcessTypes(t *testing.T) {
	tests := []struct {
		name, label string
		want        []string
		err         string
	}{
		{name: "two types, sorted", label: `{"processes":[{"type":"worker","command":["w"]},{"type":"web","command":["s"]}]}`, want: []string{"web", "worker"}},
		{name: "duplicates once", label: `{"processes":[{"type":"web"},{"type":"web"}]}`, want: []string{"web"}},
		{name: "none", label: `{"processes":[]}`},
		{name: "no label", label: "", err: "has no io.buildpacks.build.metadata label"},
		{name: "not JSON", label: "{", err: "read the image's io.buildpacks.build.metadata label"},
		{name: "bad type name", label: `{"processes":[{"type":"web; rm -rf /"}]}`, err: `process type "web; rm -rf /" is not a valid`},
		{name: "empty type name", label: `{"processes":[{"type":""}]}`, err: `process type "" is not a valid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := processTypes(tt.label)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("processTypes = %v, %v; want an error with %q", got, err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("processTypes = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func FuzzProcessTypes(f *testing.F) {
	f.Add(`{"processes":[{"type":"web"}]}`)
	f.Add(`{"processes":[{"type":"../x"}]}`)
	f.Fuzz(func(t *testing.T, label string) {
		types, err := processTypes(label)
		if err != nil {
			return
		}
		for _, typ := range types {
			// A type names a process and a path in the image
			// (/cnb/process/TYPE): no separator, no dot-dot.
			if typ == "" || strings.ContainsAny(typ, "/ \n") || typ == ".." || typ == "." {
				t.Fatalf("processTypes(%q) accepted %q", label, typ)
			}
		}
	})
}

func TestImageName(t *testing.T) {
	a, b := ImageName("/data/cache/hello"), ImageName("/other/cache/hello")
	if !strings.HasPrefix(a, "nua-build/hello-") || !strings.HasPrefix(b, "nua-build/hello-") || a == b {
		t.Fatalf("ImageName = %q, %q; want nua-build/hello-HASH, distinct per cache dir", a, b)
	}
	if a != ImageName("/data/cache/hello") {
		t.Fatal("ImageName is not stable")
	}
	if got := ImageName("/tmp/Weird Dir!"); !strings.HasPrefix(got, "nua-build/weird-dir-") || strings.ContainsAny(got, " !") {
		t.Fatalf("ImageName of an odd dir = %q", got)
	}
}

func TestLastLine(t *testing.T) {
	tests := []struct {
		writes []string
		want   string
	}{
		{nil, ""},
		{[]string{"one\ntwo\n"}, "two"},
		{[]string{"one\n", "tw", "o\n\n  \n"}, "two"},
		{[]string{"one\nunfinished"}, "unfinished"},
		{[]string{"nua-cnb: pack build with x: failed\n"}, "nua-cnb: pack build with x: failed"},
	}
	for _, tt := range tests {
		var l lastLine
		for _, w := range tt.writes {
			if n, err := l.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", w, n, err)
			}
		}
		if got := l.String(); got != tt.want {
			t.Errorf("writes %q: last line %q, want %q", tt.writes, got, tt.want)
		}
	}
}
