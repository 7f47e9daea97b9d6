package dev_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/dev"
)

func TestParseEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "plain", in: "A=1\nB=two words\n", want: map[string]string{"A": "1", "B": "two words"}},
		{name: "comments and blanks", in: "# top\n\nA=1 # trailing\n  # indented\n", want: map[string]string{"A": "1"}},
		{name: "export", in: "export A=1\nexport  B=2", want: map[string]string{"A": "1", "B": "2"}},
		{name: "quotes", in: `A='single # not a comment'` + "\n" + `B="double\nline"` + "\nC=\"\"\n",
			want: map[string]string{"A": "single # not a comment", "B": "double\nline", "C": ""}},
		{name: "expansion in double quotes", in: "A=1\nB=\"${A}x\"\nC='${A}'", want: map[string]string{"A": "1", "B": "1x", "C": "${A}"}},
		{name: "CRLF", in: "A=1\r\nB=2\r\n", want: map[string]string{"A": "1", "B": "2"}},
		{name: "later wins", in: "A=1\nA=2", want: map[string]string{"A": "2"}},
		{name: "empty file", in: "", want: map[string]string{}},
		{name: "digit first", in: "OK=1\n1A=2", wantErr: `.env line 2: "1A" is not a variable name`},
		{name: "dot", in: "A.B=1", wantErr: `.env line 1: "A.B" is not a variable name`},
		{name: "dash", in: "A-B=1", wantErr: `unexpected character "-"`},
		{name: "no equals", in: "A=1\nJUSTAKEY\n", wantErr: ".env line 2: not KEY=value"},
		{name: "no key", in: "=1", wantErr: ".env line 1: not KEY=value"},
		{name: "unterminated quote", in: "A=\"open\nB=2", wantErr: "unterminated quoted value"},
		{name: "NUL", in: "A=x\x00y", wantErr: "the value of A contains a NUL byte"},
		{name: "too big", in: "A=" + strings.Repeat("x", dev.MaxEnvFileSize), wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dev.ParseEnv(strings.NewReader(tt.in), ".env")
			if tt.wantErr != "" {
				if !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseEnv() error = %v, want ErrInvalid with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("ParseEnv() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLoadEnvFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a, b := write("a.env", "X=a\nY=a\n"), write("b.env", "Y=b\n")
	missing := filepath.Join(dir, "missing.env")
	tests := []struct {
		name     string
		paths    []string
		optional bool
		want     map[string]string
		wantErr  string
	}{
		{name: "later overrides", paths: []string{a, b}, want: map[string]string{"X": "a", "Y": "b"}},
		{name: "optional missing", paths: []string{missing}, optional: true, want: map[string]string{}},
		{name: "explicit missing", paths: []string{a, missing}, wantErr: "env file " + missing + " does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dev.LoadEnvFiles(tt.paths, tt.optional)
			if tt.wantErr != "" {
				if !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadEnvFiles() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("LoadEnvFiles() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestEnviron(t *testing.T) {
	t.Parallel()
	got := dev.Environ([]string{"HOME=/h", "A=old", "PATH=/bin"}, map[string]string{"B": "2", "A": "new"})
	want := []string{"HOME=/h", "PATH=/bin", "A=new", "B=2"}
	if !slices.Equal(got, want) {
		t.Fatalf("Environ() = %q, want %q", got, want)
	}
}

var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func FuzzParseEnv(f *testing.F) {
	for _, seed := range []string{
		"A=1\n", "export A=1", "# c\nA='x'\nB=\"y\\n${A}\"", "A", "=", "A.B=1", "A=\"open", "A: 1", "é=1", "A=1 # c\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		vars, err := dev.ParseEnv(strings.NewReader(in), ".env")
		if err != nil {
			if !errors.Is(err, nua.ErrInvalid) {
				t.Fatalf("ParseEnv(%q) error %v does not wrap ErrInvalid", in, err)
			}
			return
		}
		for k, v := range vars {
			if !envKeyRE.MatchString(k) || strings.ContainsRune(v, 0) {
				t.Fatalf("ParseEnv(%q) accepted %q=%q", in, k, v)
			}
		}
	})
}
