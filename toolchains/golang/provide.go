package golang

import (
	"context"
	"errors"
	"fmt"
	"go/version"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/nua-paas/nua/internal/excerpt"
)

// wantToolchain returns the Go toolchain go.mod asks for that is not the
// server's (host): the one its toolchain line names, else, when the go
// line is newer than host, that release; "" builds with the server's.
func (m goMod) wantToolchain(host string) string {
	if m.Toolchain != "" && m.Toolchain != "default" && version.Compare(m.Toolchain, host) != 0 {
		return m.Toolchain
	}
	if m.Go == "" || version.Compare(host, "go"+m.Go) >= 0 {
		return ""
	}
	v := "go" + m.Go
	// From Go 1.21 on, "go 1.27" is a language version; its first release
	// is go1.27.0.
	if version.Compare(v, "go1.21") >= 0 && version.Lang(v) == v {
		v += ".0"
	}
	return v
}

// provide returns the go command of toolchain want from the runtime cache:
// the server's go (hostGo) fetches it once through the module proxy, as
// GOTOOLCHAIN does, into a module cache that every app's builds share
// read-only.
func (t *Toolchain) provide(ctx context.Context, hostGo, want string, env []string) (goCmd, origin string, err error) {
	dir := filepath.Join(t.RuntimesDir, "go")
	goCmd = filepath.Join(dir, "golang.org", "toolchain@v0.0.1-"+want+"."+runtime.GOOS+"-"+runtime.GOARCH, "bin", "go")
	origin = "from nua's runtime cache"
	if _, err := os.Stat(goCmd); errors.Is(err, os.ErrNotExist) {
		origin = "downloaded into nua's runtime cache"
		home, err := os.MkdirTemp("", "nua-go-toolchain-")
		if err != nil {
			return "", "", err
		}
		defer os.RemoveAll(home)
		cmd := exec.CommandContext(ctx, hostGo, "version")
		cmd.Dir = home
		cmd.Env = append(fetchEnv(env), "HOME="+home, "GOPATH="+home, "GOMODCACHE="+dir, "GOTOOLCHAIN="+want, "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("fetch Go toolchain %s through the module proxy: %w: %s", want, err, excerpt.Within(strings.Join(strings.Fields(string(out)), " "), 300))
		}
	} else if err != nil {
		return "", "", err
	}
	if _, err := os.Stat(goCmd); err != nil {
		return "", "", fmt.Errorf("fetch Go toolchain %s: %w", want, err)
	}
	return goCmd, origin, nil
}

// fetchEnv keeps of env what reaching the module proxy needs.
func fetchEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOINSECURE",
			"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR":
			out = append(out, kv)
		}
	}
	return out
}
