package golang

import (
	"bufio"
	"bytes"
	"fmt"
	"go/version"
	"io"
	"os"
	"strconv"
	"strings"
)

// goMod is what the toolchain needs from go.mod.
type goMod struct {
	Path string // module path
	Go   string // go directive, e.g. "1.26"; "" if absent
	// Toolchain is the toolchain directive, e.g. "go1.26.3"; "" if absent.
	Toolchain string
}

// wantGo is the Go version to name in messages.
func (m goMod) wantGo() string {
	if m.Go == "" {
		return "1.x"
	}
	return m.Go
}

// maxGoModSize bounds the go.mod the toolchain reads.
const maxGoModSize = 1 << 20

// readGoMod reads the module and go directives of the go.mod at path.
func readGoMod(path string) (goMod, error) {
	f, err := os.Open(path)
	if err != nil {
		return goMod{}, fmt.Errorf("read go.mod: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxGoModSize+1))
	if err != nil {
		return goMod{}, fmt.Errorf("read go.mod: %w", err)
	}
	if len(data) > maxGoModSize {
		return goMod{}, fmt.Errorf("read go.mod: larger than %d bytes", maxGoModSize)
	}
	return parseGoMod(data)
}

// parseGoMod reads the module, go and toolchain directives of go.mod.
func parseGoMod(data []byte) (goMod, error) {
	var mod goMod
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxGoModSize)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "module":
			mod.Path = unquote(f[1])
		case "go":
			mod.Go = f[1]
		case "toolchain":
			mod.Toolchain = f[1]
		}
	}
	if err := sc.Err(); err != nil {
		return goMod{}, fmt.Errorf("read go.mod: %w", err)
	}
	if mod.Path == "" {
		return goMod{}, fmt.Errorf("read go.mod: no module line (want e.g. \"module example.com/app\")")
	}
	if mod.Go != "" && !version.IsValid("go"+mod.Go) {
		return goMod{}, fmt.Errorf("read go.mod: invalid go version %q (want e.g. \"go 1.26\")", mod.Go)
	}
	if mod.Toolchain != "" && mod.Toolchain != "default" && (!version.IsValid(mod.Toolchain) || !strings.HasPrefix(mod.Toolchain, "go")) {
		return goMod{}, fmt.Errorf("read go.mod: invalid toolchain %q (want e.g. \"toolchain go1.26.3\")", mod.Toolchain)
	}
	return mod, nil
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}
