package golang

import (
	"os"
	"path/filepath"

	"github.com/nua-paas/nua/buildpacks"
)

// env returns the environment of the go command for build b: the host's
// tool settings, the app's compile settings and caches in b.Cache (the build
// cache may be shared).
func (t *Toolchain) env(b *buildpacks.Build) []string {
	// From the host: where tools and module proxies are, which the
	// server's operator decides.
	hostVars := []string{
		"PATH", "HOME", "TMPDIR",
		"GOPROXY", "GOSUMDB", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOINSECURE",
		"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
		"SSL_CERT_FILE", "SSL_CERT_DIR",
	}
	// From the app's config, over the host's values: how the app wants to
	// be compiled.
	appVars := []string{
		"GOFLAGS", "CGO_ENABLED", "GOEXPERIMENT", "GOAMD64", "GOARM64",
		"GOPRIVATE", "GONOPROXY", "GONOSUMDB",
	}
	vars := map[string]string{
		"CGO_ENABLED": "0",
		"HOME":        b.Cache,
	}
	for _, k := range hostVars {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	for _, k := range appVars {
		if v, ok := b.Getenv(k); ok {
			vars[k] = v
		}
	}
	if b.Home != "" {
		vars["HOME"] = b.Home
	}
	if b.Tmp != "" {
		vars["TMPDIR"] = b.Tmp
	}
	vars["GOCACHE"] = filepath.Join(b.Cache, "go-build")
	if t.BuildCache != "" && !b.Confined() { // a sandboxed app's is seeded from it
		vars["GOCACHE"] = t.BuildCache
	}
	vars["GOMODCACHE"] = filepath.Join(b.Cache, "go-mod")
	vars["GOPATH"] = filepath.Join(b.Cache, "go-path")
	vars["GOTOOLCHAIN"] = "local"
	vars["GOBIN"] = filepath.Join(b.Src, "bin")
	vars["GOWORK"] = "off"
	if fi, err := os.Stat(filepath.Join(b.Src, "go.work")); err == nil && fi.Mode().IsRegular() {
		vars["GOWORK"] = filepath.Join(b.Src, "go.work")
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}
