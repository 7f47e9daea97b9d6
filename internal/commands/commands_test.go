package commands

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestReorder(t *testing.T) {
	app := New(Options{Door: Local})
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"flags after app", []string{"logs", "web", "-n", "5", "-t"}, []string{"logs", "-n", "5", "-t", "--", "web"}},
		{"global flag first", []string{"--data", "/d", "logs", "web", "-t"}, []string{"--data", "/d", "logs", "-t", "--", "web"}},
		{"confirm after app", []string{"apps:destroy", "web", "--confirm", "web"}, []string{"apps:destroy", "--confirm", "web", "--", "web"}},
		{"double dash keeps args", []string{"config:set", "web", "--", "-X=1"}, []string{"config:set", "--", "web", "-X=1"}},
		{"unknown command untouched", []string{"frob", "-x"}, []string{"frob", "-x"}},
		{"no command", []string{"--data", "/d"}, []string{"--data", "/d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reorder(app, tt.args); !slices.Equal(got, tt.want) {
				t.Fatalf("reorder(%q)=%q, want %q", tt.args, got, tt.want)
			}
		})
	}
}

// TestForwardArgs checks the Local door hands the server the command line
// it parsed, without the data directory.
func TestForwardArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"logs", []string{"logs", "web", "-n", "5", "-t", "--data", "/d"}, []string{"logs", "--num", "5", "--tail=true", "--", "web"}},
		{"config:set", []string{"--data", "/d", "config:set", "web", "A=1", "B=x y"}, []string{"config:set", "--", "web", "A=1", "B=x y"}},
		{"destroy", []string{"apps:destroy", "web", "--confirm", "web"}, []string{"apps:destroy", "--confirm", "web", "--", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var out bytes.Buffer
			o := Options{Door: Local, Stdout: &out, Stderr: &out,
				Forward: func(_ *cli.Context, args []string) (int, error) { got = args; return 3, nil }}
			if code := Run(context.Background(), o, tt.args); code != 3 {
				t.Fatalf("Run exit %d, want the forwarded 3; output:\n%s", code, out.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("forwarded %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "no command given"},
		{"unknown", []string{"sh"}, "unknown command"},
		{"bad flag", []string{"logs", "--bogus", "web"}, "bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			o := Options{Door: SSH, Stdout: &out, Stderr: &out}
			if code := Run(context.Background(), o, tt.args); code != ExitUsage {
				t.Fatalf("exit %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, out.String())
			}
		})
	}
}

// An action ending with ExitStatus gives nua that status, prints nothing,
// and has its deferred calls run first.
func TestExitStatus(t *testing.T) {
	var out bytes.Buffer
	deferred := false
	rules["fail"] = Rule{Who: LocalOnly}
	t.Cleanup(func() { delete(rules, "fail") })
	o := Options{Door: Local, Stdout: &out, Stderr: &out, Extra: []*cli.Command{{
		Name: "fail",
		Action: func(*cli.Context) error {
			defer func() { deferred = true }()
			return ExitStatus(7)
		},
	}}}
	if got, want := Run(context.Background(), o, []string{"fail"}), 7; got != want {
		t.Fatalf("Run(fail)=%d, want %d", got, want)
	}
	if !deferred {
		t.Fatal("the action's deferred call did not run")
	}
	if out.Len() != 0 {
		t.Fatalf("Run(fail) printed %q, want nothing", out.String())
	}
}

// FuzzRun feeds arbitrary command lines to the tree on the Local door: any
// line either runs a command (here: forwards it) or is refused, and never
// panics; a forwarded line always names a command the server runs, on the
// Socket door (`hook pre-receive` forwards `hook:pre-receive`).
func FuzzRun(f *testing.F) {
	server := New(Options{Door: Socket})
	for _, s := range []string{"apps", "logs web -n 5 -t", "config:set web A=1", "--data /d apps", "apps:destroy web --confirm web", "-", "--", "logs -n", "hook pre-receive", "tokens:create --expires 30d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var out bytes.Buffer
		o := Options{Door: Local, Stdout: &out, Stderr: &out, Stdin: strings.NewReader(""),
			Forward: func(c *cli.Context, args []string) (int, error) {
				if server.Command(args[0]) == nil {
					t.Fatalf("forwarded %q, which the server does not run", args)
				}
				return 0, nil
			}}
		Run(context.Background(), o, strings.Fields(line))
	})
}
