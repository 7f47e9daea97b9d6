package buildout_test

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/nua-paas/nua/internal/buildout"
	"github.com/nua-paas/nua/internal/testutil"
)

func TestOutput(t *testing.T) {
	tests := []struct {
		name  string
		write func(o *buildout.Output)
		want  string
	}{
		{
			name:  "step",
			write: func(o *buildout.Output) { o.Step("Go app detected") },
			want:  "-----> Go app detected\n",
		},
		{
			name:  "info with args",
			write: func(o *buildout.Output) { o.Info("Installed %s in %d s", "bin/app", 2) },
			want:  "       Installed bin/app in 2 s\n",
		},
		{
			name:  "warn",
			write: func(o *buildout.Output) { o.Warn("no web process") },
			want:  " !     no web process\n",
		},
		{
			name:  "multi-line step indents the rest",
			write: func(o *buildout.Output) { o.Step("one\ntwo\n") },
			want:  "-----> one\n       two\n",
		},
		{
			name:  "multi-line warn keeps the marker",
			write: func(o *buildout.Output) { o.Warn("one\ntwo") },
			want:  " !     one\n !     two\n",
		},
		{
			name: "indent prefixes every line across writes",
			write: func(o *buildout.Output) {
				w := o.Indent()
				fmt.Fprint(w, "# example.com/app\n./main.go:8:")
				fmt.Fprint(w, " cannot use x\nlast line\n")
			},
			want: "       # example.com/app\n       ./main.go:8: cannot use x\n       last line\n",
		},
		{
			name: "step after a partial tool line starts a new line",
			write: func(o *buildout.Output) {
				fmt.Fprint(o.Indent(), "no newline at the end")
				o.Step("next")
				fmt.Fprint(o.Indent(), "\n")
			},
			want: "       no newline at the end\n-----> next\n       \n",
		},
		{
			name: "indent writers share the line state",
			write: func(o *buildout.Output) {
				fmt.Fprint(o.Indent(), "half ")
				fmt.Fprint(o.Indent(), "line\n")
			},
			want: "       half line\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.write(buildout.NewOutput(&buf))
			if got := buf.String(); got != tt.want {
				t.Fatalf("output:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestOutputNil(t *testing.T) {
	o := buildout.NewOutput(nil)
	o.Step("discarded")
	fmt.Fprintln(o.Indent(), "discarded")
	var none *buildout.Output
	none.Info("a nil Output discards too")
	if _, err := fmt.Fprintln(none.Indent(), "x"); err != nil {
		t.Fatalf("write to nil Output's Indent: %v", err)
	}
}

// TestIndentToolOutput runs a real command with one Indent writer as both
// its stdout and its stderr, the way toolchains run compilers.
func TestIndentToolOutput(t *testing.T) {
	var buf testutil.Buffer
	o := buildout.NewOutput(&buf)
	w := o.Indent()
	script := `i=0; while [ $i -lt 200 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done`
	cmd := exec.Command("sh", "-c", script)
	cmd.Stdout = w
	cmd.Stderr = indentOnly{w}
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if got, want := len(lines), 400; got != want {
		t.Fatalf("got %d lines, want %d:\n%s", got, want, buf.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "       out ") && !strings.HasPrefix(l, "       err ") {
			t.Fatalf("line %q is not an indented tool line", l)
		}
	}
}

// indentOnly hides the writer's identity so exec copies stdout and stderr
// in two goroutines, writing concurrently.
type indentOnly struct{ w io.Writer }

func (i indentOnly) Write(p []byte) (int, error) { return i.w.Write(p) }

func TestOutputConcurrent(t *testing.T) {
	var buf testutil.Buffer
	o := buildout.NewOutput(&buf)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if g%2 == 0 {
					fmt.Fprintf(o.Indent(), "tool %d %d\n", g, i)
				} else {
					o.Info("info %d %d", g, i)
				}
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if got, want := len(lines), 200; got != want {
		t.Fatalf("got %d lines, want %d", got, want)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if !strings.HasPrefix(l, "       ") || len(f) != 3 {
			t.Fatalf("line %q is mangled", l)
		}
	}
}

// TestRelay checks how an external buildpack's output is shown: its own
// step, info and warning lines as they are, other lines indented.
func TestRelay(t *testing.T) {
	var buf bytes.Buffer
	o := buildout.NewOutput(&buf)
	r := o.Relay()
	fmt.Fprint(r, "-----> Installing Ruby\n       ruby 3.1\nplain tool ")
	fmt.Fprint(r, "line\r\n !     a warning\nno newline at the end")
	o.Step("before the flush")
	r.Flush()
	want := "-----> Installing Ruby\n       ruby 3.1\n       plain tool line\n !     a warning\n" +
		"-----> before the flush\n       no newline at the end\n"
	if got := buf.String(); got != want {
		t.Fatalf("relayed:\n%q\nwant:\n%q", got, want)
	}
	var none *buildout.Output
	fmt.Fprintln(none.Relay(), "discarded")
}
