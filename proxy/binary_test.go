package proxy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nua-paas/nua/proxy"
)

func writeExec(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

func TestFindBinary(t *testing.T) {
	tmp := t.TempDir()
	flagBin := filepath.Join(tmp, "flag", "traefik")
	writeExec(t, flagBin, 0o755)
	notExec := filepath.Join(tmp, "noexec", "traefik")
	writeExec(t, notExec, 0o644)
	pathDir := filepath.Join(tmp, "path")
	writeExec(t, filepath.Join(pathDir, "traefik"), 0o755)
	work := filepath.Join(tmp, "work")
	writeExec(t, filepath.Join(work, "bin", "traefik"), 0o755)
	empty := filepath.Join(tmp, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		flag    string
		path    string // $PATH
		wd      string
		want    string
		wantErr string
	}{
		{"flag wins", flagBin, pathDir, work, flagBin, ""},
		{"flag missing", filepath.Join(tmp, "nope"), pathDir, work, "", "no such file"},
		{"flag not executable", notExec, pathDir, work, "", "not an executable"},
		{"flag is a dir", tmp, pathDir, work, "", "not an executable"},
		{"on PATH", "", pathDir, work, filepath.Join(pathDir, "traefik"), ""},
		{"bin under working dir", "", empty, work, filepath.Join(work, "bin", "traefik"), ""},
		{"nowhere", "", empty, empty, "", "make traefik"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			t.Chdir(tt.wd)
			got, err := proxy.FindBinary(tt.flag)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, proxy.ErrNoBinary) {
					t.Fatalf("FindBinary(%q)=%q, %v; want ErrNoBinary containing %q", tt.flag, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FindBinary(%q)=%q, %v; want %q", tt.flag, got, err, tt.want)
			}
		})
	}
}
