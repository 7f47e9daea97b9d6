package static

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// shutdownTimeout bounds how long Serve waits for requests in flight once
// its context ends.
const shutdownTimeout = 10 * time.Second

// Serve serves the files under dir on 127.0.0.1:port until ctx ends, then
// shuts down gracefully: like every app, on loopback only, where the proxy
// reaches it. See Handler for what it serves.
func Serve(ctx context.Context, dir, port string) error {
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("serve static files: port %q: give a port number (1 to 65535)", port)
	}
	addr := net.JoinHostPort("127.0.0.1", port)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("serve static files: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("serve static files: %s is not a directory", dir)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve static files: %w", err)
	}
	return ServeListener(ctx, ln, dir)
}

// ServeListener is Serve on a listener the caller opened; it closes ln.
func ServeListener(ctx context.Context, ln net.Listener, dir string) error {
	srv := &http.Server{
		Handler:           Handler(dir),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve static files: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down static server: %w", err)
	}
	return nil
}

// Handler serves the files under dir to GET and HEAD requests. It never
// serves a dotfile or anything under a dot-dir (.git, .env: 404), lists no
// directories (a directory answers with its index.html or 404), follows
// symlinks only to files inside dir, and serves dir/404.html, if present,
// as the not-found page. HTML is revalidated on every request; other files
// may be cached for an hour.
func Handler(dir string) http.Handler { return &site{dir: dir} }

type site struct{ dir string }

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	upath := r.URL.Path
	if !strings.HasPrefix(upath, "/") {
		upath = "/" + upath
	}
	name := strings.TrimPrefix(path.Clean(upath), "/")
	f, fi, err := s.open(name)
	if err != nil {
		s.notFound(w, r)
		return
	}
	defer f.Close()
	if fi.IsDir() {
		if !strings.HasSuffix(upath, "/") {
			redirectToDir(w, r, name)
			return
		}
		if f, fi, err = s.open(path.Join(name, "index.html")); err != nil || fi.IsDir() {
			s.notFound(w, r)
			return
		}
		defer f.Close()
	} else if strings.HasSuffix(upath, "/") {
		s.notFound(w, r)
		return
	}
	setCacheHeaders(w, fi)
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
}

// open opens the file called name (slash-separated, relative to the site)
// if neither name nor the file it resolves to is hidden or outside the site.
func (s *site) open(name string) (*os.File, os.FileInfo, error) {
	if hidden(name) {
		return nil, nil, os.ErrNotExist
	}
	root, err := filepath.EvalSymlinks(s.dir)
	if err != nil {
		return nil, nil, err
	}
	real, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		return nil, nil, err
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || hidden(filepath.ToSlash(rel)) {
		return nil, nil, os.ErrNotExist
	}
	f, err := os.OpenInRoot(root, rel)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// hidden reports whether a slash-separated relative path has a segment
// starting with a dot. "." alone is the site's root.
func hidden(name string) bool {
	if name == "." || name == "" {
		return false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

// notFound answers 404 with the site's 404.html if it has one.
func (s *site) notFound(w http.ResponseWriter, r *http.Request) {
	f, fi, err := s.open("404.html")
	if err != nil || fi.IsDir() {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		io.Copy(w, f) //nolint:errcheck // the client went away
	}
}

// redirectToDir sends a client that asked for directory name without the
// trailing slash to the slashed path, so relative links work. The target is
// built from the cleaned name, so it is always a path on this site.
func redirectToDir(w http.ResponseWriter, r *http.Request, name string) {
	target := &url.URL{Path: "/" + name + "/", RawQuery: r.URL.RawQuery}
	w.Header().Set("Location", target.String())
	w.WriteHeader(http.StatusMovedPermanently)
}

// setCacheHeaders makes browsers revalidate HTML (so a deploy shows at once)
// and cache other files for an hour, with a validator either way.
func setCacheHeaders(w http.ResponseWriter, fi os.FileInfo) {
	h := w.Header()
	h.Set("ETag", fmt.Sprintf(`W/"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
	if strings.EqualFold(path.Ext(fi.Name()), ".html") || strings.EqualFold(path.Ext(fi.Name()), ".htm") {
		h.Set("Cache-Control", "no-cache")
		return
	}
	h.Set("Cache-Control", "public, max-age=3600")
}
