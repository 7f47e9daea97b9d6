package srcfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/toolchains/internal/srcfile"
)

func TestRead(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	for name, content := range map[string]string{"package.json": "{}", "big": strings.Repeat("x", 11)} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(src, "link.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(src, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, want, wantErr string
		notExist, notRegular      bool
	}{
		{name: "regular file", file: "package.json", want: "{}"},
		{name: "missing", file: "nope", wantErr: "read nope: file does not exist", notExist: true},
		{name: "symlink out of the tree", file: "link.json", wantErr: "read link.json: not a regular file", notRegular: true},
		{name: "directory", file: "dir", wantErr: "read dir: not a regular file", notRegular: true},
		{name: "too large", file: "big", wantErr: "read big: larger than 10 bytes"},
		{name: "path", file: "../x", wantErr: "not a file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := srcfile.Read(src, tt.file, 10)
			if tt.wantErr == "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Read=%q, %v, want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Read error %v, want %q", err, tt.wantErr)
			}
			if errors.Is(err, fs.ErrNotExist) != tt.notExist || errors.Is(err, srcfile.ErrNotRegular) != tt.notRegular {
				t.Fatalf("Read error %v: is ErrNotExist %v, ErrNotRegular %v", err, tt.notExist, tt.notRegular)
			}
		})
	}
}

func TestExistsPresent(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name             string
		exists, present  bool
		existsErrRegular bool
	}{
		{"file", true, true, false},
		{"link", false, true, true},
		{"missing", false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := srcfile.Exists(src, tt.name)
			if ok != tt.exists || errors.Is(err, srcfile.ErrNotRegular) != tt.existsErrRegular {
				t.Fatalf("Exists=%v, %v", ok, err)
			}
			if ok, err := srcfile.Present(src, tt.name); ok != tt.present || err != nil {
				t.Fatalf("Present=%v, %v, want %v", ok, err, tt.present)
			}
		})
	}
}
