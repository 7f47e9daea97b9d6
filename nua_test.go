package nua_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nua-paas/nua"
)

func TestValidateAppName(t *testing.T) {
	tests := []struct {
		name string
		app  string
		ok   bool
	}{
		{"simple", "web", true},
		{"dashes and digits", "my-app-2", true},
		{"63 chars", "a" + strings.Repeat("b", 62), true},
		{"64 chars", "a" + strings.Repeat("b", 63), false},
		{"empty", "", false},
		{"uppercase", "App", false},
		{"leading digit", "1app", false},
		{"leading dash", "-app", false},
		{"trailing dash", "app-", false},
		{"dotdot", "../x", false},
		{"slash", "a/b", false},
		{"dot", "a.b", false},
		{"unicode", "café", false},
		{"space", "a b", false},
		{"newline", "app\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := nua.ValidateAppName(tt.app)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateAppName(%q)=%v, want ok=%t", tt.app, err, tt.ok)
			}
			if err != nil && (!errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), "lowercase letters")) {
				t.Fatalf("error %q does not name the rule", err)
			}
		})
	}
}

func FuzzValidateAppName(f *testing.F) {
	for _, s := range []string{"web", "../x", "A", "", "a-", strings.Repeat("a", 64), "café"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if nua.ValidateAppName(s) != nil {
			return
		}
		if len(s) == 0 || len(s) > 63 || strings.ContainsAny(s, "./\\ \x00") || !utf8.ValidString(s) || s != strings.ToLower(s) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func TestParseConfigVars(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]string
		err  string
	}{
		{"one", []string{"A=1"}, map[string]string{"A": "1"}, ""},
		{"value with equals", []string{"URL=a=b"}, map[string]string{"URL": "a=b"}, ""},
		{"empty value", []string{"E="}, map[string]string{"E": ""}, ""},
		{"spaces kept", []string{"G=hello world"}, map[string]string{"G": "hello world"}, ""},
		{"none", nil, nil, "no KEY=value"},
		{"no equals", []string{"A=1", "B"}, nil, "not KEY=value"},
		{"digit first", []string{"1A=x"}, nil, "config key"},
		{"dash", []string{"A-B=x"}, nil, "config key"},
		{"reserved PORT", []string{"PORT=1"}, nil, "set by nua"},
		{"nul", []string{"A=\x00"}, nil, "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nua.ParseConfigVars(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || got != nil {
					t.Fatalf("ParseConfigVars(%q)=%v, %v; want error with %q", tt.args, got, err, tt.err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("ParseConfigVars(%q)=%v, %v; want %v", tt.args, got, err, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("%s=%q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func FuzzParseConfigVars(f *testing.F) {
	for _, s := range []string{"A=1", "B", "=x", "PORT=1", "a_b=c=d", "X=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		vars, err := nua.ParseConfigVars([]string{arg})
		if err != nil {
			return
		}
		for k, v := range vars {
			if nua.ValidateConfigKey(k) != nil || strings.ContainsRune(v, 0) || arg != k+"="+v {
				t.Fatalf("accepted %q as %q=%q", arg, k, v)
			}
		}
	})
}

func TestAppFromRepo(t *testing.T) {
	tests := []struct{ repo, want string }{
		{"/web", "web"}, {"web.git", "web"}, {"/web.git", "web"}, {"~/web", "web"},
		{"../etc", ""}, {"/a/b", ""}, {"", ""}, {"/", ""},
	}
	for _, tt := range tests {
		got, err := nua.AppFromRepo(tt.repo)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("AppFromRepo(%q)=%q, %v; want %q", tt.repo, got, err, tt.want)
		}
	}
}

func TestParseScale(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]int
		err  string
	}{
		{"two types", []string{"web=3", "worker=0"}, map[string]int{"web": 3, "worker": 0}, ""},
		{"cap", []string{"web=20"}, map[string]int{"web": 20}, ""},
		{"over cap", []string{"web=21"}, nil, "from 0 to 20"},
		{"negative", []string{"web=-1"}, nil, "from 0 to 20"},
		{"not a number", []string{"web=two"}, nil, "from 0 to 20"},
		{"no equals", []string{"web"}, nil, "TYPE=N"},
		{"bad type", []string{"we b=1"}, nil, "TYPE=N"},
		{"twice", []string{"web=1", "web=2"}, nil, "twice"},
		{"none", nil, nil, "TYPE=N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nua.ParseScale(tt.args, nua.DefaultMaxScale)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || got != nil {
					t.Fatalf("ParseScale(%q)=%v, %v; want error with %q", tt.args, got, err, tt.err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("ParseScale(%q)=%v, %v; want %v", tt.args, got, err, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("%s=%d, want %d", k, got[k], v)
				}
			}
		})
	}
}

func FuzzParseScale(f *testing.F) {
	for _, s := range []string{"web=1", "web=-1", "w=99999999999999999999", "=1", "web=1=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		got, err := nua.ParseScale([]string{arg}, nua.DefaultMaxScale)
		if err != nil {
			return
		}
		for typ, n := range got {
			if n < 0 || n > nua.DefaultMaxScale || typ == "" || strings.ContainsAny(typ, "= ") {
				t.Fatalf("accepted %q as %s=%d", arg, typ, n)
			}
		}
	})
}

func TestParseAppJSON(t *testing.T) {
	tests := []struct {
		name, json, err string
	}{
		{"empty", ``, ""},
		{"full", `{"formation":{"web":{"quantity":2}},"healthchecks":{"web":[{"type":"startup","path":"/health","attempts":5,"timeout":2,"wait":1}]},"scripts":{"postdeploy":"x"},"env":{"A":{"value":"1"}}}`, ""},
		{"not json", `{formation`, "app.json"},
		{"wrong type", `{"formation":{"web":{"quantity":"two"}}}`, "app.json"},
		{"negative", `{"formation":{"web":{"quantity":-1}}}`, "quantity"},
		{"bad type name", `{"formation":{"we b":{"quantity":1}}}`, "process type"},
		{"path without slash", `{"healthchecks":{"web":[{"path":"health"}]}}`, "path"},
		{"liveness", `{"healthchecks":{"web":[{"type":"liveness","path":"/"}]}}`, "startup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := nua.ParseAppJSON(strings.NewReader(tt.json))
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("ParseAppJSON err=%v, want %q", err, tt.err)
			}
		})
	}
}

func FuzzParseAppJSON(f *testing.F) {
	f.Add(`{"formation":{"web":{"quantity":2}},"healthchecks":{"web":[{"path":"/"}]}}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := nua.ParseAppJSON(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, e := range m.Formation {
			if e.Quantity < 0 {
				t.Fatalf("accepted quantity %d", e.Quantity)
			}
		}
		for _, hs := range m.Healthchecks {
			for _, h := range hs {
				if !strings.HasPrefix(h.Path, "/") {
					t.Fatalf("accepted path %q", h.Path)
				}
			}
		}
	})
}
