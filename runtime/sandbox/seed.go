package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Seed fills dst, a new dir inside a dir the app owns, with hard links to
// the files under src, a cache the daemon shares between apps (the Go
// build cache warmed at start). The app reads the linked files but cannot
// change them (they stay root's, read-only to it); what it adds is its own.
// Dirs made for it are the app's. Nothing in dst's tree is followed if it
// is a symlink, so an app cannot steer these writes elsewhere. A dst that
// exists already is left as it is. Files on another file system than src
// are not linked: the app's cache then starts cold.
func (s *Sandbox) Seed(dst, src string) error {
	if !s.Confined() {
		return errors.New("sandbox: seed a cache only for a confined app")
	}
	parent, err := unix.Open(filepath.Dir(dst), unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("seed %s: %w", dst, err)
	}
	defer unix.Close(parent)
	err = unix.Mkdirat(parent, filepath.Base(dst), 0o700)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("seed %s: %w", dst, err)
	}
	if err := s.seedDir(parent, filepath.Base(dst), src); err != nil && !errors.Is(err, unix.EXDEV) {
		return fmt.Errorf("seed %s from %s: %w", dst, src, err)
	}
	return nil
}

// seedDir links the files of src into the dir name of parent, made by the
// caller, and recurses into src's dirs.
func (s *Sandbox) seedDir(parent int, name, src string) error {
	fd, err := unix.Openat(parent, name, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fchown(fd, s.uid, s.uid); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		from := filepath.Join(src, e.Name())
		switch {
		case e.IsDir():
			if err := unix.Mkdirat(fd, e.Name(), 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
				return err
			}
			if err := s.seedDir(fd, e.Name(), from); err != nil {
				return err
			}
		case e.Type().IsRegular():
			err := unix.Linkat(unix.AT_FDCWD, from, fd, e.Name(), 0)
			if err != nil && !errors.Is(err, unix.EEXIST) {
				return err
			}
		}
	}
	return nil
}
