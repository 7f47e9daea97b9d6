package procman_test

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/nua-paas/nua/procman"
)

func TestParseProcfile(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procman.Procfile
		wantErr string // substring; "" = success
	}{
		{
			name: "simple",
			in:   "web: bundle exec puma -p $PORT\nworker: bin/worker\n",
			want: procman.Procfile{{Type: "web", Command: "bundle exec puma -p $PORT"}, {Type: "worker", Command: "bin/worker"}},
		},
		{
			name: "split on first colon only",
			in:   "web: python -c 'print(\"a:b\")'",
			want: procman.Procfile{{Type: "web", Command: `python -c 'print("a:b")'`}},
		},
		{
			name: "comments blank lines and spaces",
			in:   "# a comment\n\n   \n  web :  ./server  \r\n\t# indented comment\nrelease:./migrate",
			want: procman.Procfile{{Type: "web", Command: "./server"}, {Type: "release", Command: "./migrate"}},
		},
		{
			name: "type charset",
			in:   "Web_2-x: run",
			want: procman.Procfile{{Type: "Web_2-x", Command: "run"}},
		},
		{name: "empty file", in: "", want: nil},
		{name: "only comments", in: "# nothing\n", want: nil},
		{
			name:    "duplicate type names the line",
			in:      "web: a\nworker: b\nweb: c\n",
			wantErr: `Procfile line 3: duplicate process type "web"`,
		},
		{name: "missing colon", in: "web: a\njust a command\n", wantErr: "Procfile line 2: missing ':'"},
		{name: "empty command", in: "\n\nweb:   \n", wantErr: "Procfile line 3: empty command"},
		{name: "empty type", in: ": run", wantErr: "Procfile line 1: process type \"\""},
		{name: "space in type", in: "web server: run", wantErr: "Procfile line 1: process type \"web server\""},
		{name: "dot in type", in: "web.1: run", wantErr: "Procfile line 1"},
		{name: "NUL in command", in: "web: a\x00b", wantErr: "Procfile line 1: command contains a NUL"},
		{name: "too big", in: "web: " + strings.Repeat("x", procman.MaxProcfileSize), wantErr: "larger than"},
		{name: "too many types", in: manyTypes(21), wantErr: `Procfile line 22: process type "t21" is one more than the 20 an app may have: merge or remove some`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := procman.ParseProcfile(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseProcfile() error = %v, want one containing %q", err, tt.wantErr)
				}
				if !errors.Is(err, procman.ErrProcfile) {
					t.Fatalf("error %v does not wrap ErrProcfile", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseProcfile() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseProcfile() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// manyTypes is a Procfile of a comment and n process types, t1 to tN.
func manyTypes(n int) string {
	var b strings.Builder
	b.WriteString("# many\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "t%d: run %d\n", i, i)
	}
	return b.String()
}

func TestProcfileMaxTypes(t *testing.T) {
	p, err := procman.ParseProcfile(strings.NewReader(manyTypes(20)))
	if err != nil || len(p) != 20 {
		t.Fatalf("ParseProcfile of 20 types = %d entries, %v; want all 20", len(p), err)
	}
}

func TestProcfileLookup(t *testing.T) {
	p := procman.Procfile{{Type: "web", Command: "serve"}, {Type: "worker", Command: "work"}}
	if got, ok := p.Lookup("worker"); !ok || got != "work" {
		t.Fatalf("Lookup(worker) = %q, %v; want work, true", got, ok)
	}
	if got, ok := p.Lookup("clock"); ok || got != "" {
		t.Fatalf("Lookup(clock) = %q, %v; want \"\", false", got, ok)
	}
}

func FuzzParseProcfile(f *testing.F) {
	for _, seed := range []string{
		"web: bundle exec puma\nworker: rake jobs:work\n",
		"# comment\n\nweb:./a:b:c\n",
		"web: a\nweb: b\n",
		"no colon here",
		": empty type",
		"web:",
		"  web  :  x  \r\n",
		"w\x00eb: x",
		"web: a\x00b",
		"\xff\xfe: x",
		"web: \xff",
	} {
		f.Add(seed)
	}
	typeRe := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := procman.ParseProcfile(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, procman.ErrProcfile) {
				t.Fatalf("error %v does not wrap ErrProcfile", err)
			}
			return
		}
		if len(p) > procman.MaxProcessTypes {
			t.Fatalf("accepted %d process types", len(p))
		}
		seen := map[string]bool{}
		for _, e := range p {
			if !typeRe.MatchString(e.Type) {
				t.Fatalf("accepted invalid type %q", e.Type)
			}
			if e.Command == "" || strings.TrimSpace(e.Command) != e.Command {
				t.Fatalf("accepted command %q for %q", e.Command, e.Type)
			}
			if seen[e.Type] {
				t.Fatalf("accepted duplicate type %q", e.Type)
			}
			seen[e.Type] = true
			if got, ok := p.Lookup(e.Type); !ok || got != e.Command {
				t.Fatalf("Lookup(%q) = %q, %v", e.Type, got, ok)
			}
		}
	})
}
