package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Object is an archive kept in a target.
type Object struct {
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Target keeps archives under keys such as "shop/20261202T030000Z.nua".
type Target interface {
	// Name says where the target is, for messages.
	Name() string
	// Put stores what r gives as key, then reads it back and checks its
	// size and SHA-256. A failed or partial upload is removed.
	Put(ctx context.Context, key string, r io.Reader) (Object, error)
	// Get opens the archive at key.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the archive at key; one that is gone is no error.
	Delete(ctx context.Context, key string) error
}

// ErrKey marks a key that is not a plain relative path.
var ErrKey = errors.New("backup: bad object key")

var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)+$`)

func checkKey(key string) error {
	if !keyRE.MatchString(key) || strings.Contains(key, "..") {
		return fmt.Errorf("%w %q", ErrKey, key)
	}
	return nil
}

// hashingReader counts and hashes what is read through it.
type hashingReader struct {
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func newHashingReader(r io.Reader) *hashingReader { return &hashingReader{r: r, h: sha256.New()} }

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashingReader) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// readBack reads rc whole and checks it is want.
func readBack(rc io.ReadCloser, want Object, where string) error {
	defer rc.Close()
	hr := newHashingReader(rc)
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return fmt.Errorf("read %s back: %w", where, err)
	}
	if hr.n != want.Size || hr.sum() != want.SHA256 {
		return fmt.Errorf("read %s back: %d bytes with SHA-256 %.12s, written %d with %.12s", where, hr.n, hr.sum(), want.Size, want.SHA256)
	}
	return nil
}

// Local keeps archives in a directory of the server.
type Local struct{ Dir string }

// Name implements Target.
func (l Local) Name() string { return "local " + l.Dir }

func (l Local) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.Dir, filepath.FromSlash(key)), nil
}

// Put implements Target: the archive is written beside its place and
// renamed there once read back whole.
func (l Local) Put(ctx context.Context, key string, r io.Reader) (Object, error) {
	p, err := l.path(key)
	if err != nil {
		return Object{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return Object{}, err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".part-*")
	if err != nil {
		return Object{}, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	hr := newHashingReader(r)
	_, err = io.Copy(f, hr)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Object{}, fmt.Errorf("write %s: %w", l.Name(), err)
	}
	obj := Object{Key: key, Size: hr.n, SHA256: hr.sum()}
	rc, err := os.Open(tmp)
	if err != nil {
		return Object{}, err
	}
	if err := readBack(rc, obj, l.Name()); err != nil {
		return Object{}, err
	}
	return obj, os.Rename(tmp, p)
}

// Get implements Target.
func (l Local) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Delete implements Target.
func (l Local) Delete(ctx context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// S3 keeps archives in a bucket of an S3-compatible object store.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
	where  string
}

// S3Config names a bucket and how to reach it.
type S3Config struct {
	// URL is s3://BUCKET[/PREFIX].
	URL string
	// Endpoint is the store's base URL, https://s3.example.org or
	// http://127.0.0.1:9000.
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
}

var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// NewS3 checks c and returns its target; it does not connect yet.
func NewS3(c S3Config) (*S3, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme != "s3" || !bucketRE.MatchString(u.Host) || strings.Contains(u.Host, "..") {
		return nil, fmt.Errorf("%q: give the bucket as s3://BUCKET[/PREFIX] (3 to 63 lowercase letters, digits, dots and dashes)", c.URL)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if path.Clean(prefix) != prefix || strings.Contains(prefix, "..") || !regexp.MustCompile(`^[A-Za-z0-9._/-]+$`).MatchString(prefix) {
			return nil, fmt.Errorf("%q: the prefix may hold letters, digits, dots, dashes, underscores and slashes", c.URL)
		}
		prefix += "/"
	}
	e, err := url.Parse(c.Endpoint)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || (e.Path != "" && e.Path != "/") || e.User != nil {
		return nil, fmt.Errorf("endpoint %q: give the store's base URL, https://HOST[:PORT]", c.Endpoint)
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return nil, errors.New("an S3 target needs an access key and a secret key")
	}
	client, err := minio.New(e.Host, &minio.Options{
		Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""), Secure: e.Scheme == "https", Region: c.Region,
	})
	if err != nil {
		return nil, err
	}
	return &S3{client: client, bucket: u.Host, prefix: prefix, where: "s3://" + u.Host + "/" + prefix + " at " + e.Host}, nil
}

// Name implements Target.
func (s *S3) Name() string { return s.where }

// Check makes sure the bucket exists and can be written.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("%s: %w", s.where, err)
	}
	if !ok {
		return fmt.Errorf("%s: no such bucket", s.where)
	}
	return nil
}

// Put implements Target: a multipart upload of unknown length, then the
// object read back whole.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, err
	}
	hr := newHashingReader(r)
	name := s.prefix + key
	_, err := s.client.PutObject(ctx, s.bucket, name, hr, -1, minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: 16 << 20})
	if err != nil {
		s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, name, minio.RemoveObjectOptions{})
		return Object{}, fmt.Errorf("upload to %s: %w", s.where, err)
	}
	obj := Object{Key: key, Size: hr.n, SHA256: hr.sum()}
	rc, err := s.Get(ctx, key)
	if err == nil {
		err = readBack(rc, obj, s.where)
	}
	if err != nil {
		s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, name, minio.RemoveObjectOptions{})
		return Object{}, err
	}
	return obj, nil
}

// Get implements Target.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	o, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where, err)
	}
	return o, nil
}

// Delete implements Target.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
}
