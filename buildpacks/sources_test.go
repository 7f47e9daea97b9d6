package buildpacks_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nua-paas/nua/buildpacks"
)

func TestParseSources(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    []buildpacks.Source
		wantErr string
	}{
		{
			name: "urls, refs, paths and comments",
			file: "# buildpacks\nhttps://github.com/heroku/heroku-buildpack-ruby#v250\n\n  ssh://git@example.org/bp.git  \nfile:///srv/bp.git#main\n/opt/buildpacks/node/\n",
			want: []buildpacks.Source{
				{URL: "https://github.com/heroku/heroku-buildpack-ruby", Ref: "v250"},
				{URL: "ssh://git@example.org/bp.git"},
				{URL: "file:///srv/bp.git", Ref: "main"},
				{URL: "/opt/buildpacks/node", Dir: true},
			},
		},
		{name: "commit ref", file: "https://example.org/bp.git#0123abcd", want: []buildpacks.Source{{URL: "https://example.org/bp.git", Ref: "0123abcd"}}},
		{name: "empty", file: "# nothing\n\n", wantErr: "lists no buildpack"},
		{name: "http", file: "http://example.org/bp.git", wantErr: "line 1: bad buildpack URL: \"http://example.org/bp.git\": use https://"},
		{name: "scp-like", file: "\ngit@github.com:heroku/bp.git", wantErr: "line 2: bad buildpack URL: \"git@github.com:heroku/bp.git\" is not a git URL or an absolute path: write ssh://user@host/path"},
		{name: "registry name", file: "heroku/ruby", wantErr: "not registry names"},
		{name: "relative path", file: "./bp", wantErr: "is not a git URL or an absolute path"},
		{name: "dotdot path", file: "/opt/../etc", wantErr: "no .. in a buildpack path"},
		{name: "dotdot file URL", file: "file:///srv/../etc/bp", wantErr: "no .. in the path"},
		{name: "ref on a path", file: "/opt/bp#main", wantErr: "takes no #ref"},
		{name: "bad ref", file: "https://example.org/bp.git#-x", wantErr: "#-x is not a branch, tag or commit name"},
		{name: "dotdot ref", file: "https://example.org/bp.git#a..b", wantErr: "is not a branch"},
		{name: "no host", file: "https:///bp.git", wantErr: "give the host and the repository path"},
		{name: "no repo path", file: "https://example.org", wantErr: "give the host and the repository path"},
		{name: "query", file: "https://example.org/bp.git?x=1", wantErr: "no query part"},
		{name: "other scheme", file: "ftp://example.org/bp.git", wantErr: "scheme ftp"},
		{name: "remote file URL", file: "file://host/srv/bp.git", wantErr: "file:///path/to/repo"},
		{name: "space inside", file: "https://example.org/b p.git", wantErr: "a space or a control character"},
		{name: "control character", file: "https://example.org/bp\x1b.git", wantErr: "a space or a control character"},
		{name: "too long", file: "https://example.org/" + strings.Repeat("a", 1100), wantErr: "at most 1024 bytes"},
		{name: "too many", file: strings.Repeat("/opt/bp\n", 17), wantErr: "more than 16 buildpacks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := buildpacks.ParseSources(strings.NewReader(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, buildpacks.ErrBuildpackURL) {
					t.Fatalf("ParseSources: %v, want ErrBuildpackURL with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseSources = %+v, %v, want %+v", got, err, tt.want)
			}
		})
	}
}

func TestSourceStringHidesPasswords(t *testing.T) {
	s, err := buildpacks.ParseSource("https://user:s3cret@example.org/bp.git#v1")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); strings.Contains(got, "s3cret") || !strings.HasSuffix(got, "#v1") {
		t.Fatalf("String() = %q, want the password hidden and the ref kept", got)
	}
}

// FuzzParseSources checks that no input panics, and that every buildpack
// accepted is a git URL of a known scheme or a clean absolute path, with
// no whitespace and a plain ref.
func FuzzParseSources(f *testing.F) {
	for _, seed := range []string{
		"https://github.com/heroku/heroku-buildpack-ruby#v250\n/opt/bp\n",
		"# c\nfile:///srv/bp.git#main", "ssh://git@example.org/bp.git", "git@h:p", "/opt/../x", "https://h/p#a..b",
		"https://h/p?q", "file://h/p", "\x00", "https://u:p@h/p#r",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, file string) {
		list, err := buildpacks.ParseSources(strings.NewReader(file))
		if err != nil {
			return
		}
		for _, s := range list {
			if strings.ContainsAny(s.URL+s.Ref, " \t\r\n\x00") {
				t.Fatalf("accepted %+v with whitespace", s)
			}
			if s.Dir {
				if !strings.HasPrefix(s.URL, "/") || slices.Contains(strings.Split(s.URL, "/"), "..") || s.Ref != "" {
					t.Fatalf("accepted directory %+v", s)
				}
				continue
			}
			if !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "ssh://") && !strings.HasPrefix(s.URL, "file://") {
				t.Fatalf("accepted URL %+v", s)
			}
			if strings.HasPrefix(s.Ref, "-") || strings.Contains(s.Ref, "..") {
				t.Fatalf("accepted ref %+v", s)
			}
		}
	})
}
