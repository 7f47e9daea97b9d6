// Package backup writes and reads nua's backups: one app's data dir,
// addon dumps and config in a single streamed archive, tar inside gzip
// inside age encryption, with a manifest of SHA-256 sums that every read
// checks; and it keeps them in targets, a local directory or an S3 bucket,
// each upload read back and checked.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
)

// Format is the version of the archive layout this package writes.
const Format = 1

// Entry names of an archive.
const (
	HeaderName   = "nua-backup.json" // first: what the backup is of
	ManifestName = "MANIFEST.json"   // last: the sums of every other entry
	DataDir      = "data/"           // the app's persistent data dir
	AddonsDir    = "addons/"         // one dump per addon
)

// Header says what a backup holds; it is the archive's first entry.
type Header struct {
	Format  int       `json:"format"`
	App     string    `json:"app"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// Meta is the app's record, release and config as the platform gives
	// them, restored as they are.
	Meta json.RawMessage `json:"meta,omitempty"`
}

// Manifest lists every entry but itself with its size and SHA-256.
type Manifest struct {
	Entries []ManifestEntry `json:"entries"`
}

// ManifestEntry is one entry of the manifest.
type ManifestEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ErrCorrupt marks an archive that does not read back whole and unchanged.
var ErrCorrupt = errors.New("backup archive is corrupt or truncated")

// Writer streams an archive to an underlying writer: nothing is staged on
// disk.
type Writer struct {
	enc      io.WriteCloser
	gz       *gzip.Writer
	tw       *tar.Writer
	manifest Manifest
	closed   bool
}

// NewWriter starts an archive of h encrypted to recipients (at least one).
func NewWriter(w io.Writer, h Header, recipients ...age.Recipient) (*Writer, error) {
	if len(recipients) == 0 {
		return nil, errors.New("backup: no recipient to encrypt to")
	}
	enc, err := age.Encrypt(w, recipients...)
	if err != nil {
		return nil, fmt.Errorf("backup: encrypt: %w", err)
	}
	gz, _ := gzip.NewWriterLevel(enc, gzip.BestSpeed)
	aw := &Writer{enc: enc, gz: gz, tw: tar.NewWriter(gz)}
	h.Format = Format
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if err := aw.Add(HeaderName, int64(len(b)), strings.NewReader(string(b))); err != nil {
		return nil, err
	}
	return aw, nil
}

// Add streams an entry of size bytes from r.
func (w *Writer) Add(name string, size int64, r io.Reader) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := w.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(w.tw, io.TeeReader(io.LimitReader(r, size), h))
	if err == nil && n != size {
		err = fmt.Errorf("%d bytes of %d: it changed while it was read", n, size)
	}
	if err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	w.manifest.Entries = append(w.manifest.Entries, ManifestEntry{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// AddStream streams an entry of unknown size, such as a database dump,
// through a temporary file in tmpDir: tar needs each entry's size first.
func (w *Writer) AddStream(name, tmpDir string, r io.Reader) error {
	f, err := os.CreateTemp(tmpDir, ".dump-*")
	if err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, r)
	if err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return w.Add(name, size, f)
}

// AddDir adds the regular files under dir as entries under prefix (which
// ends in "/"), with their directories implied. Symlinks and special
// files are left out: a backup holds data, never a way out of it.
func (w *Writer) AddDir(prefix, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return w.AddFile(prefix+filepath.ToSlash(rel), p)
	})
}

// AddFile adds the file at path as entry name.
func (w *Writer) AddFile(name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return w.Add(name, fi.Size(), f)
}

// Close writes the manifest and ends the archive; the underlying writer
// has every byte once it returns.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	b, err := json.MarshalIndent(w.manifest, "", "  ")
	if err != nil {
		return err
	}
	if err := w.tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := w.tw.Write(b); err != nil {
		return err
	}
	return errors.Join(w.tw.Close(), w.gz.Close(), w.enc.Close())
}

// checkName accepts a clean relative slash path with no dot segments.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || name == "." ||
		slices.Contains(strings.Split(name, "/"), "..") || strings.ContainsAny(name, "\\\x00") {
		return fmt.Errorf("%w: entry name %q", ErrCorrupt, name)
	}
	return nil
}

// Reader reads an archive entry by entry, checking each against the
// manifest at the end: Next returns io.EOF only once every entry read
// matched it.
type Reader struct {
	gz     *gzip.Reader
	tr     *tar.Reader
	Header Header
	seen   []ManifestEntry
	cur    *entry
}

type entry struct {
	name string
	size int64
	h    hash.Hash
	r    io.Reader
}

// NewReader opens an archive with identities (the server's key) and reads
// its header.
func NewReader(r io.Reader, identities ...age.Identity) (*Reader, error) {
	dec, err := age.Decrypt(r, identities...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, fmt.Errorf("backup: this server's key cannot open the archive: it was made for other recipients (%w)", err)
		}
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	gz, err := gzip.NewReader(dec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	ar := &Reader{gz: gz, tr: tar.NewReader(gz)}
	name, rd, err := ar.Next()
	if err != nil {
		return nil, err
	}
	if name != HeaderName {
		return nil, fmt.Errorf("%w: it starts with %q, not its header", ErrCorrupt, name)
	}
	if err := json.NewDecoder(io.LimitReader(rd, 1<<20)).Decode(&ar.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if ar.Header.Format != Format {
		return nil, fmt.Errorf("backup: archive format %d, this nua reads %d", ar.Header.Format, Format)
	}
	return ar, nil
}

// Next returns the next entry's name and contents, to be read before the
// next call; at the end it checks the manifest and returns io.EOF.
func (r *Reader) Next() (string, io.Reader, error) {
	if err := r.finish(); err != nil {
		return "", nil, err
	}
	th, err := r.tr.Next()
	if err == io.EOF {
		return "", nil, fmt.Errorf("%w: it ends before its manifest", ErrCorrupt)
	}
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if th.Typeflag != tar.TypeReg || checkName(th.Name) != nil {
		return "", nil, fmt.Errorf("%w: entry %q is not a plain file", ErrCorrupt, th.Name)
	}
	if th.Name == ManifestName {
		return "", nil, r.checkManifest()
	}
	e := &entry{name: th.Name, size: th.Size, h: sha256.New()}
	e.r = io.TeeReader(r.tr, e.h)
	r.cur = e
	return th.Name, e.r, nil
}

// finish reads what the caller left of the current entry and records it.
func (r *Reader) finish() error {
	if r.cur == nil {
		return nil
	}
	if _, err := io.Copy(io.Discard, r.cur.r); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, r.cur.name, err)
	}
	r.seen = append(r.seen, ManifestEntry{Name: r.cur.name, Size: r.cur.size, SHA256: hex.EncodeToString(r.cur.h.Sum(nil))})
	r.cur = nil
	return nil
}

func (r *Reader) checkManifest() error {
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(r.tr, 64<<20)).Decode(&m); err != nil {
		return fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
	}
	if !slices.Equal(m.Entries, r.seen) {
		return fmt.Errorf("%w: its entries do not match its manifest", ErrCorrupt)
	}
	if _, err := r.tr.Next(); err != io.EOF {
		return fmt.Errorf("%w: entries after the manifest", ErrCorrupt)
	}
	// To the end of the gzip and age streams, whose checksums and last
	// chunk tell a truncated or altered tail.
	if _, err := io.Copy(io.Discard, r.gz); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return io.EOF
}
