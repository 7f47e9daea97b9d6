package proxy_test

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestStaticConfigExposure reads the static configuration a real Traefik
// was started with, and the sockets that Traefik listens on: the apps'
// entrypoint on HTTPAddr, the API (served insecure, without auth) only on
// a loopback address, nothing else. The golden file fixes the text; this
// checks what the text exposes.
func TestStaticConfigExposure(t *testing.T) {
	tr, cfg := mustOpen(t)
	data, err := os.ReadFile(filepath.Join(cfg.Dir, "traefik.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var static struct {
		EntryPoints map[string]struct {
			Address string `yaml:"address"`
		} `yaml:"entryPoints"`
		API struct {
			Insecure  bool `yaml:"insecure"`
			Dashboard bool `yaml:"dashboard"`
			Debug     bool `yaml:"debug"`
		} `yaml:"api"`
		Rest map[string]any `yaml:",inline"`
	}
	if err := yaml.Unmarshal(data, &static); err != nil {
		t.Fatalf("parse traefik.yml: %v\n%s", err, data)
	}

	// Sections that can open a listener or call out (metrics, ping,
	// tracing, pilot, hub, experimental plugins...) are absent.
	for key := range static.Rest {
		if !slices.Contains([]string{"global", "providers", "log"}, key) {
			t.Errorf("traefik.yml sets %q: check what it exposes, then allow it here", key)
		}
	}
	var names []string
	for name := range static.EntryPoints {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"traefik", "web"}; !slices.Equal(names, want) {
		t.Fatalf("entrypoints %v, want %v: web for the apps, traefik for the API", names, want)
	}
	if got := static.EntryPoints["web"].Address; got != cfg.HTTPAddr {
		t.Errorf("web entrypoint on %q, want HTTPAddr %q", got, cfg.HTTPAddr)
	}
	api := static.EntryPoints["traefik"].Address
	if host, _, err := net.SplitHostPort(api); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Errorf("API entrypoint on %q, want a loopback address: api.insecure serves it without auth", api)
	}
	if api != tr.APIAddr() {
		t.Errorf("API entrypoint on %q, but nua polls %q", api, tr.APIAddr())
	}
	if static.API.Dashboard || static.API.Debug {
		t.Errorf("api.dashboard=%v api.debug=%v, want both off", static.API.Dashboard, static.API.Debug)
	}

	// What Traefik really listens on.
	got := listening(t, tr.PID())
	want := []string{cfg.HTTPAddr, api}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("traefik listens on %v, want only %v", got, want)
	}
	// The API answers on its own address, not through the apps' entrypoint.
	if code, _ := tryGet(api+"/api/rawdata", "localhost"); code != http.StatusOK {
		t.Errorf("GET /api/rawdata on the API entrypoint = %d, want 200", code)
	}
	for _, path := range []string{"/api/rawdata", "/dashboard/"} {
		if code, _ := tryGet(cfg.HTTPAddr+path, "localhost"); code != http.StatusNotFound {
			t.Errorf("GET %s on the web entrypoint = %d, want 404", path, code)
		}
	}
}

// listening returns the TCP addresses process pid listens on, sorted: its
// socket inodes matched against the listening sockets of /proc/net/tcp{,6}.
func listening(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var addrs []string
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] { // 0A: LISTEN
				continue
			}
			addrs = append(addrs, procAddr(t, fields[1]))
		}
		f.Close()
	}
	slices.Sort(addrs)
	return addrs
}

// procAddr decodes an address of /proc/net/tcp: the IP in hex, each
// 32-bit word in host (little-endian) order, then the port in hex.
func procAddr(t *testing.T, s string) string {
	t.Helper()
	ipHex, portHex, _ := strings.Cut(s, ":")
	raw, err := hex.DecodeString(ipHex)
	port, err2 := strconv.ParseUint(portHex, 16, 16)
	if err != nil || err2 != nil || len(raw)%4 != 0 {
		t.Fatalf("bad /proc/net/tcp address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		slices.Reverse(raw[i : i+4])
	}
	ip := net.IP(raw)
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(int(port)))
}
