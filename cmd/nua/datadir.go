package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// dataDirModes are the modes of the data dir and its top entries when apps
// run sandboxed: app users may pass through the dir and the dirs that hold
// their own (apps/APP, cache/APP) and reach nua's binary and the runtimes
// nua provides (read-only), and nothing else.
var dataDirModes = []struct {
	name string
	mode os.FileMode
}{
	{".", 0o711}, {"apps", 0o711}, {"cache", 0o711}, {"bin", 0o755}, {"runtimes", 0o755},
	{"repos", 0o700}, {"logs", 0o700}, {"traefik", 0o700},
}

// prepareDataDir sets the data dir's modes for sandboxed apps, checks app
// users can reach it, and puts a copy of nua's binary (exe) in DATA/bin,
// which app processes run for nua's own process types (static sites). It
// returns that bin dir.
func prepareDataDir(data, exe string) (string, error) {
	for _, d := range dataDirModes {
		dir := filepath.Join(data, d.name)
		if err := os.MkdirAll(dir, d.mode); err != nil {
			return "", err
		}
		if err := os.Chmod(dir, d.mode); err != nil {
			return "", err
		}
	}
	for dir := filepath.Dir(data); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return "", err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return "", fmt.Errorf("--data %s: app users cannot reach it, %s is mode %04o: run `chmod o+x %s` or pick a data dir such as /var/lib/nua", data, dir, fi.Mode().Perm(), dir)
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	bin := filepath.Join(data, "bin")
	return bin, installCopy(exe, filepath.Join(bin, "nua"))
}

// installCopy copies the file src to dst (mode 0755) unless dst has the
// same size and modification time already.
func installCopy(src, dst string) error {
	sfi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if dfi, err := os.Stat(dst); err == nil && dfi.Size() == sfi.Size() && dfi.ModTime().Equal(sfi.ModTime()) {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".nua-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, in)
	err = errors.Join(err, tmp.Chmod(0o755), tmp.Close())
	if err == nil {
		err = os.Chtimes(tmp.Name(), sfi.ModTime(), sfi.ModTime())
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		return fmt.Errorf("install nua's binary for apps: %w", err)
	}
	return nil
}
