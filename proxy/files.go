package proxy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The static configuration nua starts its Traefik with.
type (
	staticConfig struct {
		Global                globalConfig            `yaml:"global"`
		EntryPoints           map[string]entryPoint   `yaml:"entryPoints"`
		CertificatesResolvers map[string]certResolver `yaml:"certificatesResolvers,omitempty"`
		API                   apiConfig               `yaml:"api"`
		Providers             providersConfig         `yaml:"providers"`
		Log                   logConfig               `yaml:"log"`
	}
	globalConfig struct {
		CheckNewVersion    bool `yaml:"checkNewVersion"`
		SendAnonymousUsage bool `yaml:"sendAnonymousUsage"`
	}
	entryPoint struct {
		Address   string    `yaml:"address"`
		Transport transport `yaml:"transport"`
	}
	transport struct {
		LifeCycle lifeCycle `yaml:"lifeCycle"`
	}
	lifeCycle struct {
		GraceTimeOut string `yaml:"graceTimeOut"`
	}
	apiConfig struct {
		Insecure  bool `yaml:"insecure"`
		Dashboard bool `yaml:"dashboard"`
	}
	providersConfig struct {
		ThrottleDuration string       `yaml:"providersThrottleDuration"`
		File             fileProvider `yaml:"file"`
	}
	fileProvider struct {
		Directory string `yaml:"directory"`
		Watch     bool   `yaml:"watch"`
	}
	logConfig struct {
		Level   string `yaml:"level"`
		Format  string `yaml:"format,omitempty"`
		NoColor bool   `yaml:"noColor"`
	}
)

// staticYAML is the static configuration: the web entrypoint on httpAddr,
// the API alone on apiAddr, routes from the files in dynamicDir. Traefik
// never calls out (no version check, no usage report).
func staticYAML(httpAddr, apiAddr, dynamicDir string) ([]byte, error) {
	return staticYAMLFor(httpAddr, apiAddr, dynamicDir, nil, "")
}

// staticYAMLFor is staticYAML with, when https is set, the websecure
// entrypoint and the ACME resolver storing into acmeFile, and the log in
// JSON, from which nua reads ACME's failures.
func staticYAMLFor(httpAddr, apiAddr, dynamicDir string, https *HTTPS, acmeFile string) ([]byte, error) {
	cfg := staticConfig{
		EntryPoints: map[string]entryPoint{
			webEntryPoint: {Address: httpAddr, Transport: transport{lifeCycle{GraceTimeOut: "5s"}}},
			"traefik":     {Address: apiAddr, Transport: transport{lifeCycle{GraceTimeOut: "1s"}}},
		},
		API: apiConfig{Insecure: true},
		Providers: providersConfig{
			ThrottleDuration: "0s",
			File:             fileProvider{Directory: dynamicDir, Watch: true},
		},
		Log: logConfig{Level: "ERROR", NoColor: true},
	}
	if https != nil {
		cfg.EntryPoints[secureEntryPoint] = entryPoint{Address: https.Addr, Transport: transport{lifeCycle{GraceTimeOut: "5s"}}}
		cfg.CertificatesResolvers = map[string]certResolver{resolverName: https.resolver(acmeFile)}
		cfg.Log.Format = "json"
	}
	var buf bytes.Buffer
	buf.WriteString("# Written by nua at every start: changes here are overwritten.\n")
	if err := encodeYAML(&buf, cfg); err != nil {
		return nil, fmt.Errorf("marshal static config: %w", err)
	}
	return buf.Bytes(), nil
}

// tempMark is in the name of every temporary file: Traefik skips such
// files (their extension is not .yml) and Open removes leftovers.
const tempMark = ".yml.tmp"

// writeFileAtomic replaces path with data: a temporary file in the same
// directory is written, synced and renamed over path, then the directory
// is synced. Readers see the old content or the new, never a part.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+strings.TrimSuffix(filepath.Base(path), ".yml")+tempMark+"*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", f.Name(), err)
	}
	return syncDir(dir)
}

// removeFile removes path, if there, and syncs its directory.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// removeTemps removes the temporary files a crash may have left in dir.
func removeTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read dir: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(name, ".") && strings.Contains(name, tempMark) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("remove temp file: %w", err)
			}
		}
	}
	return nil
}
