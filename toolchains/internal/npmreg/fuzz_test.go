package npmreg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUnpack feeds tarballs to the unpacker: whatever it accepts lands
// inside its dir, and every symlink it made resolves inside it too.
func FuzzUnpack(f *testing.F) {
	for _, entries := range [][][3]string{
		{{"package/package.json", `{"bin":{"x":"bin/x.js"}}`, ""}, {"package/bin/x.js", "x", ""}, {"package/lib/x", "", "../bin/x.js"}},
		{{"package/package.json", `{}`, ""}, {"package/up", "", "../../etc/passwd"}},
		{{"package/../../evil", "x", ""}},
	} {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, e := range entries {
			h := &tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg}
			if e[2] != "" {
				h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e[2], 0
			}
			tw.WriteHeader(h)
			tw.Write([]byte(e[1]))
		}
		tw.Close()
		gz.Close()
		f.Add(buf.Bytes())
	}
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte("not a tarball"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(t.TempDir(), "pkg")
		if err := unpackInto(bytes.NewReader(data), dir); err != nil {
			if _, serr := os.Stat(dir); serr == nil {
				t.Fatalf("refused (%v) but %s exists", err, dir)
			}
			return
		}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			target, _ := os.Readlink(p)
			resolved := filepath.Join(filepath.Dir(p), target)
			if filepath.IsAbs(target) || !strings.HasPrefix(resolved, dir+string(filepath.Separator)) && resolved != dir {
				t.Fatalf("symlink %s -> %s leaves %s", p, target, dir)
			}
			return nil
		})
	})
}
