package buildpacks

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/nua-paas/nua/internal/excerpt"
)

// Source is one external buildpack: a git URL with an optional ref, or a
// directory on the server.
type Source struct {
	URL string // the git URL without its #ref, or the directory
	Ref string // branch, tag or commit of a git URL; "" = its default branch
	Dir bool   // URL is a local directory, used as it is
}

// String returns the source as written, with any password in the URL
// hidden, for messages.
func (s Source) String() string {
	shown := s.URL
	if u, err := url.Parse(s.URL); err == nil && !s.Dir {
		shown = u.Redacted()
	}
	if s.Ref != "" {
		return shown + "#" + s.Ref
	}
	return shown
}

// Limits on what .buildpacks and BUILDPACK_URL may hold.
const (
	maxSourceLen   = 1024
	maxSources     = 16
	maxSourcesFile = 64 << 10
)

// refRE is a branch, tag or commit name as a #ref.
var refRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$`)

// ParseSource parses one buildpack: an absolute path of a directory on the
// server, or a git URL (https://, ssh:// or file://) with an optional #ref.
func ParseSource(s string) (Source, error) {
	if s == "" || len(s) > maxSourceLen {
		return Source{}, fmt.Errorf("%w: give a git URL or an absolute path of at most %d bytes", ErrBuildpackURL, maxSourceLen)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return Source{}, fmt.Errorf("%w: %q contains a space or a control character", ErrBuildpackURL, excerpt.Of(s))
		}
	}
	if strings.HasPrefix(s, "/") {
		return parseDir(s)
	}
	raw, ref, hasRef := strings.Cut(s, "#")
	if hasRef {
		if err := checkRef(ref); err != nil {
			return Source{}, err
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return Source{}, fmt.Errorf("%w: %q is not a git URL or an absolute path%s", ErrBuildpackURL, excerpt.Of(s), hint(raw))
	}
	if !strings.HasPrefix(raw, u.Scheme+"://") {
		return Source{}, fmt.Errorf("%w: %q: write %s://...", ErrBuildpackURL, excerpt.Of(s), u.Scheme)
	}
	if err := checkURL(u); err != nil {
		return Source{}, fmt.Errorf("%w: %q: %w", ErrBuildpackURL, excerpt.Of(s), err)
	}
	return Source{URL: raw, Ref: ref}, nil
}

func parseDir(s string) (Source, error) {
	if strings.Contains(s, "#") {
		return Source{}, fmt.Errorf("%w: %q: a local buildpack directory takes no #ref", ErrBuildpackURL, excerpt.Of(s))
	}
	if slices.Contains(strings.Split(s, "/"), "..") {
		return Source{}, fmt.Errorf("%w: %q: no .. in a buildpack path", ErrBuildpackURL, excerpt.Of(s))
	}
	return Source{URL: filepath.Clean(s), Dir: true}, nil
}

func checkRef(ref string) error {
	if !refRE.MatchString(ref) || strings.Contains(ref, "..") || strings.Contains(ref, "//") ||
		strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".lock") {
		return fmt.Errorf("%w: #%s is not a branch, tag or commit name", ErrBuildpackURL, excerpt.Of(ref))
	}
	return nil
}

// checkURL accepts https://HOST/PATH, ssh://[USER@]HOST/PATH and
// file:///PATH.
func checkURL(u *url.URL) error {
	if u.Opaque != "" || u.RawQuery != "" || u.ForceQuery {
		return errors.New("not a plain git URL (no query part)")
	}
	switch u.Scheme {
	case "https", "ssh":
		if u.Host == "" || u.Path == "" || u.Path == "/" {
			return errors.New("give the host and the repository path")
		}
	case "file":
		if (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") || u.Path == "/" {
			return errors.New("give an absolute path: file:///path/to/repo")
		}
	case "http":
		return errors.New("use https://")
	default:
		return fmt.Errorf("scheme %s: use https://, ssh://, file:// or an absolute path", u.Scheme)
	}
	if slices.Contains(strings.Split(u.Path, "/"), "..") {
		return errors.New("no .. in the path")
	}
	return nil
}

// hint suggests the URL form for scp-like addresses and buildpack names.
func hint(s string) string {
	switch {
	case strings.Contains(s, "@") && strings.Contains(s, ":"):
		return ": write ssh://user@host/path instead of user@host:path"
	case strings.Count(s, "/") == 1 && !strings.Contains(s, ":"):
		return ": nua runs buildpacks from git URLs, e.g. https://github.com/heroku/heroku-buildpack-ruby, not registry names"
	}
	return ""
}

// ParseSources reads a .buildpacks file: one buildpack per line, blank
// lines and lines starting with # skipped. An error names the line.
func ParseSources(r io.Reader) ([]Source, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSourcesFile+1))
	if err != nil {
		return nil, fmt.Errorf("read .buildpacks: %w", err)
	}
	if len(data) > maxSourcesFile {
		return nil, fmt.Errorf("%w: .buildpacks is larger than %d bytes", ErrBuildpackURL, maxSourcesFile)
	}
	var list []Source
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(nil, maxSourcesFile+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := ParseSource(line)
		if err != nil {
			return nil, fmt.Errorf(".buildpacks line %d: %w", n, err)
		}
		if len(list) == maxSources {
			return nil, fmt.Errorf("%w: .buildpacks lists more than %d buildpacks", ErrBuildpackURL, maxSources)
		}
		list = append(list, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read .buildpacks: %w", err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: .buildpacks lists no buildpack: add a git URL or remove the file", ErrBuildpackURL)
	}
	return list, nil
}

// sources returns the external buildpacks the app asks for and where the
// list comes from: the BUILDPACK_URL config wins over a .buildpacks file.
// No list means the built-in buildpacks detect the app.
func sources(src string, b *Build) ([]Source, string, error) {
	if v, ok := b.Getenv("BUILDPACK_URL"); ok && strings.TrimSpace(v) != "" {
		s, err := ParseSource(strings.TrimSpace(v))
		if err != nil {
			return nil, "", fmt.Errorf("BUILDPACK_URL config: %w", err)
		}
		return []Source{s}, "BUILDPACK_URL", nil
	}
	path := filepath.Join(src, ".buildpacks")
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read .buildpacks: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%w: .buildpacks is not a regular file (a symlink or a directory?)", ErrBuildpackURL)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("read .buildpacks: %w", err)
	}
	defer f.Close()
	list, err := ParseSources(f)
	return list, ".buildpacks", err
}
