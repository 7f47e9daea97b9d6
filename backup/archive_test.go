package backup_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/nua-paas/nua/backup"
)

func identity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// archive writes an archive of a data dir and a dump for id.
func archive(t testing.TB, id *age.X25519Identity) []byte {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b.bin"), bytes.Repeat([]byte{7}, 100000), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
	var buf bytes.Buffer
	w, err := backup.NewWriter(&buf, backup.Header{App: "shop", ID: "b1", Created: time.Unix(1e9, 0).UTC(), Meta: []byte(`{"release":3}`)}, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddDir(backup.DataDir, dir); err != nil {
		t.Fatal(err)
	}
	if err := w.AddStream(backup.AddonsDir+"db.dump", t.TempDir(), strings.NewReader("PGDMP...")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll reads every entry of an archive.
func readAll(b []byte, id age.Identity) (backup.Header, map[string]string, error) {
	r, err := backup.NewReader(bytes.NewReader(b), id)
	if err != nil {
		return backup.Header{}, nil, err
	}
	got := map[string]string{}
	for {
		name, rd, err := r.Next()
		if err == io.EOF {
			return r.Header, got, nil
		}
		if err != nil {
			return r.Header, got, err
		}
		c, err := io.ReadAll(rd)
		if err != nil {
			return r.Header, got, err
		}
		got[name] = string(c)
	}
}

func TestArchiveRoundTrip(t *testing.T) {
	id := identity(t)
	b := archive(t, id)
	if bytes.Contains(b, []byte("alpha")) || bytes.Contains(b, []byte("PGDMP")) {
		t.Fatal("the archive holds plain text")
	}
	h, got, err := readAll(b, id)
	if err != nil {
		t.Fatal(err)
	}
	if h.App != "shop" || h.ID != "b1" || h.Format != backup.Format || string(h.Meta) != `{"release":3}` {
		t.Fatalf("header %+v", h)
	}
	if got["data/a.txt"] != "alpha\n" || len(got["data/sub/b.bin"]) != 100000 || got["addons/db.dump"] != "PGDMP..." || len(got) != 3 {
		t.Fatalf("entries: %v", keys(got))
	}
}

// TestArchiveRefusesDamage: a wrong key, a truncated archive and any
// flipped byte are errors, never a partial read reported whole.
func TestArchiveRefusesDamage(t *testing.T) {
	id := identity(t)
	b := archive(t, id)
	if _, _, err := readAll(b, identity(t)); err == nil || !strings.Contains(err.Error(), "key cannot open") {
		t.Fatalf("wrong key: %v", err)
	}
	for _, cut := range []int{len(b) - 1, len(b) - 40, len(b) / 2, 200, 10} {
		if _, _, err := readAll(b[:cut], id); err == nil {
			t.Fatalf("truncated to %d of %d bytes: read whole", cut, len(b))
		}
	}
	for _, at := range []int{len(b) - 20, len(b) / 2, 300} {
		bad := bytes.Clone(b)
		bad[at] ^= 1
		if _, _, err := readAll(bad, id); !errors.Is(err, backup.ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v, want ErrCorrupt", at, err)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// FuzzReader reads whatever it is given as an archive: an error or a read
// whose every entry the manifest vouches for, never a panic.
func FuzzReader(f *testing.F) {
	id := identity(f)
	b := archive(f, id)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		readAll(b, id)
	})
}
