package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nua-paas/nua"
)

// Build writes the app's source into a fresh directory beside its slugs
// with fill, builds it there in the app's sandbox with its config and
// build cache, and moves it to slug number v. An error of fill is
// returned as it is; on any error nothing of the build is kept.
func (r *Runtime) Build(ctx context.Context, app nua.App, v int, fill func(dir string) error, out io.Writer) (nua.Slug, error) {
	sb := r.sandbox(app)
	// The app's dir and its releases dir stay nua's, open to pass through
	// (0711): an app cannot swap what nua works in; each slug is the app's.
	for _, d := range []string{r.appDir(app.Name), r.slugsDir(app.Name)} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nua.Slug{}, err
		}
		if err := errors.Join(os.Lchown(d, os.Geteuid(), os.Getegid()), os.Chmod(d, 0o711)); err != nil {
			return nua.Slug{}, err
		}
	}
	dir, err := os.MkdirTemp(r.slugsDir(app.Name), ".build-")
	if err != nil {
		return nua.Slug{}, err
	}
	defer r.removeSlug(dir) // renamed away on success
	if err := fill(dir); err != nil {
		return nua.Slug{}, err
	}
	res, err := r.cfg.Builder.Build(ctx, dir, r.cacheDir(app.Name), envList(app.Config), sb, out)
	if err != nil {
		return nua.Slug{}, err
	}
	slug := r.slugDir(app.Name, v)
	r.removeSlug(slug) // a leftover of a deploy that failed after its build
	if err := os.Rename(dir, slug); err != nil {
		return nua.Slug{}, fmt.Errorf("keep slug: %w", err)
	}
	if err := r.cfg.Builder.Place(ctx, res, slug); err != nil {
		r.removeSlug(slug)
		return nua.Slug{}, err
	}
	return nua.Slug{Buildpack: res.Buildpack, Processes: res.Processes}, nil
}

// HasSlug reports whether the app's slug number v is still kept.
func (r *Runtime) HasSlug(app string, v int) bool {
	fi, err := os.Stat(r.slugDir(app, v))
	return err == nil && fi.IsDir()
}

// RemoveSlugs deletes the app's slugs whose number keep rejects, with
// what their builds hold outside them; a nil keep removes every slug and
// build dir of the app.
func (r *Runtime) RemoveSlugs(app string, keep func(v int) bool) {
	dir := r.slugsDir(app)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		v, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "v"))
		isSlug := err == nil && strings.HasPrefix(e.Name(), "v")
		if keep == nil || (isSlug && !keep(v)) {
			r.removeSlug(filepath.Join(dir, e.Name()))
		}
	}
	if keep == nil {
		os.RemoveAll(dir)
	}
}

// removeSlug deletes a built slug and what its build holds outside it
// (store paths, images).
func (r *Runtime) removeSlug(slug string) {
	if err := r.cfg.Builder.Remove(context.Background(), slug); err != nil {
		r.log.Warn("remove build", "slug", slug, "err", err)
	}
	os.RemoveAll(slug)
}
