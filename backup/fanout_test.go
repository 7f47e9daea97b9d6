package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// stuckTarget fails its upload after reading at most n bytes, as a
// bucket that refuses the keys or a full disk.
type stuckTarget struct{ n int64 }

func (s stuckTarget) Name() string { return "stuck" }
func (s stuckTarget) Put(_ context.Context, _ string, r io.Reader) (Object, error) {
	io.CopyN(io.Discard, r, s.n)
	return Object{}, errors.New("access denied")
}
func (s stuckTarget) Get(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("no")
}
func (s stuckTarget) Delete(context.Context, string) error { return nil }

// TestFanout: one stream reaches every target that keeps going; a
// target that fails drops out with its reason; a stream that fails leaves
// no target with a part of it.
func TestFanout(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	f := newFanout(ctx, "shop/20261202T010000Z.nua", []namedTarget{{"local", Local{Dir: dir}}, {"stuck", stuckTarget{n: 1000}}})
	if _, err := io.Copy(f, bytes.NewReader(payload)); err != nil {
		t.Fatal(err)
	}
	res := f.close(nil)
	if res[0].err != nil || res[1].err == nil || !strings.Contains(res[1].err.Error(), "access denied") {
		t.Fatalf("results = %+v, want local ok and stuck failed", res)
	}
	rc, err := Local{Dir: dir}.Get(ctx, "shop/20261202T010000Z.nua")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, payload) {
		t.Fatalf("the local copy has %d bytes, want %d", len(got), len(payload))
	}

	// Every target failing stops the stream.
	f = newFanout(ctx, "shop/x2.nua", []namedTarget{{"a", stuckTarget{n: 10}}, {"b", stuckTarget{n: 0}}})
	if _, err := io.Copy(f, bytes.NewReader(payload)); !errors.Is(err, errAllFailed) {
		t.Fatalf("writing to failed targets = %v, want errAllFailed", err)
	}
	f.close(errAllFailed)

	// A stream cut short leaves nothing in the local dir.
	f = newFanout(ctx, "shop/x3.nua", []namedTarget{{"local", Local{Dir: dir}}})
	f.Write(payload[:1000])
	res = f.close(errors.New("dump failed"))
	if res[0].err == nil {
		t.Fatal("a target kept a stream that failed")
	}
	if _, err := (Local{Dir: dir}).Get(ctx, "shop/x3.nua"); err == nil {
		t.Fatal("the partial archive was kept")
	}
}
