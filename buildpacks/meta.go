package buildpacks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A slug is its app's: the app's code runs in it and may write it, and a
// push put its files there. What nua records about a slug (which image
// runs it, how) therefore lives beside it, in its metadata dir, which
// only nua writes: nothing pushed or written by the app is read as
// platform metadata.

// metaSuffix ends the name of a slug's metadata dir: .NAME.meta.
const metaSuffix = ".meta"

// MetaDir is the metadata dir of the slug in dir slug: DIR/.NAME.meta,
// beside the slug, in the dir of slugs that only nua writes.
func MetaDir(slug string) string {
	slug = filepath.Clean(slug)
	return filepath.Join(filepath.Dir(slug), "."+filepath.Base(slug)+metaSuffix)
}

// slugOfMeta returns the slug whose metadata dir is path, if it is one.
func slugOfMeta(path string) (string, bool) {
	path = filepath.Clean(path)
	base := filepath.Base(path)
	name, ok := strings.CutSuffix(strings.TrimPrefix(base, "."), metaSuffix)
	if !ok || !strings.HasPrefix(base, ".") || name == "" || name == "." || name == ".." {
		return "", false
	}
	return filepath.Join(filepath.Dir(path), name), true
}

// moveMeta makes the metadata of the build in src the metadata of slug,
// replacing any slug had.
func moveMeta(src, slug string) error {
	from, to := MetaDir(src), MetaDir(slug)
	if from == to {
		return nil
	}
	if _, err := os.Lstat(from); errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(to) // nothing recorded: slug has none either
	}
	if err := os.RemoveAll(to); err != nil {
		return fmt.Errorf("replace slug metadata: %w", err)
	}
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("move slug metadata: %w", err)
	}
	return nil
}
