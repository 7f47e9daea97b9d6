package proxy

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoBinary means no Traefik binary was found.
var ErrNoBinary = errors.New("traefik binary not found")

// FindBinary returns the Traefik binary to run: flag when set, else
// traefik on PATH, else bin/traefik next to the nua executable (or
// traefik beside it), else bin/traefik under the working directory.
func FindBinary(flag string) (string, error) {
	if flag != "" {
		if err := checkExecutable(flag); err != nil {
			return "", fmt.Errorf("%w: %w", ErrNoBinary, err)
		}
		return flag, nil
	}
	if p, err := exec.LookPath("traefik"); err == nil {
		return p, nil
	}
	var tried []string
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		tried = append(tried, filepath.Join(dir, "bin", "traefik"), filepath.Join(dir, "traefik"))
	}
	if wd, err := os.Getwd(); err == nil {
		tried = append(tried, filepath.Join(wd, "bin", "traefik"))
	}
	for _, p := range tried {
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: not on PATH, not at %s: run `make traefik` (it puts one at bin/traefik) or give the path of a Traefik v3 binary",
		ErrNoBinary, strings.Join(tried, ", "))
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s: not an executable file", path)
	}
	return nil
}
