package backup_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/nua-paas/nua/backup"
	"github.com/nua-paas/nua/internal/testutil"
)

// failingReader gives n bytes, then an error: an upload cut short.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("the dump failed")
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

// testTarget puts, gets and deletes through t, and checks that a failed
// upload leaves nothing behind.
func testTarget(t *testing.T, tg backup.Target, exists func(key string) bool) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("nua backup "), 300000) // 3.3 MB: several parts
	obj, err := tg.Put(ctx, "shop/b1.nua", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if obj.Size != int64(len(data)) || len(obj.SHA256) != 64 {
		t.Fatalf("Put = %+v", obj)
	}
	rc, err := tg.Get(ctx, "shop/b1.nua")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get: %d bytes, %v", len(got), err)
	}
	if _, err := tg.Put(ctx, "shop/b2.nua", &failingReader{n: 1 << 20}); err == nil || !strings.Contains(err.Error(), "the dump failed") {
		t.Fatalf("a failing source: %v", err)
	}
	if exists("shop/b2.nua") {
		t.Fatal("a failed upload was left behind")
	}
	for _, key := range []string{"../etc/passwd", "shop/../x", "/abs/key", "shop", "Shop/x", "shop/.hidden", "shop/a\x00b"} {
		if _, err := tg.Put(ctx, key, strings.NewReader("x")); !errors.Is(err, backup.ErrKey) {
			t.Errorf("Put(%q) err=%v, want ErrKey", key, err)
		}
	}
	if err := tg.Delete(ctx, "shop/b1.nua"); err != nil {
		t.Fatal(err)
	}
	if exists("shop/b1.nua") {
		t.Fatal("deleted, still there")
	}
	if err := tg.Delete(ctx, "shop/b1.nua"); err != nil {
		t.Fatalf("deleting what is gone: %v", err)
	}
}

func TestLocalTarget(t *testing.T) {
	dir := t.TempDir()
	testTarget(t, backup.Local{Dir: dir}, func(key string) bool {
		_, err := os.Stat(filepath.Join(dir, key))
		entries, _ := os.ReadDir(filepath.Join(dir, "shop"))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".part-") {
				return true
			}
		}
		return err == nil
	})
}

func TestS3Target(t *testing.T) {
	m := testutil.StartMinIO(t)
	tg, err := backup.NewS3(backup.S3Config{URL: "s3://backups/nua", Endpoint: m.Endpoint, AccessKey: m.User, SecretKey: m.Password})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tg.Check(ctx); err == nil || !strings.Contains(err.Error(), "no such bucket") {
		t.Fatalf("Check of a missing bucket: %v", err)
	}
	if err := m.Client.MakeBucket(ctx, "backups", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := tg.Check(ctx); err != nil {
		t.Fatal(err)
	}
	testTarget(t, tg, func(key string) bool {
		_, err := m.Client.StatObject(ctx, "backups", "nua/"+key, minio.StatObjectOptions{})
		return err == nil
	})

	wrong, _ := backup.NewS3(backup.S3Config{URL: "s3://backups", Endpoint: m.Endpoint, AccessKey: m.User, SecretKey: "not-the-secret"})
	if _, err := wrong.Put(ctx, "shop/b3.nua", strings.NewReader("x")); err == nil {
		t.Fatal("a store that refuses the credentials took the upload")
	}
	for _, c := range []backup.S3Config{
		{URL: "s3://ab", Endpoint: m.Endpoint, AccessKey: "a", SecretKey: "b"},
		{URL: "s3://Backups", Endpoint: m.Endpoint, AccessKey: "a", SecretKey: "b"},
		{URL: "s3://backups/../x", Endpoint: m.Endpoint, AccessKey: "a", SecretKey: "b"},
		{URL: "http://backups", Endpoint: m.Endpoint, AccessKey: "a", SecretKey: "b"},
		{URL: "s3://backups", Endpoint: "ftp://127.0.0.1:9000", AccessKey: "a", SecretKey: "b"},
		{URL: "s3://backups", Endpoint: m.Endpoint},
	} {
		if _, err := backup.NewS3(c); err == nil {
			t.Errorf("NewS3(%+v) accepted", c)
		}
	}
}
