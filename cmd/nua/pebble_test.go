package main_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestMain stops the ACME server the package's tests shared, if any ran.
func TestMain(m *testing.M) {
	code := m.Run()
	acme.stop()
	os.Exit(code)
}

// pebble is Let's Encrypt's test CA (Debian's pebble) with its DNS server
// (pebble-challtestsrv), started once for the package. It validates
// HTTP-01 and TLS-ALPN-01 on HTTPPort and TLSPort of 127.0.0.1, where
// challtestsrv resolves every name: the one server at a time that holds
// it (Lock) listens there.
type pebble struct {
	Dir      string
	DirURL   string // the ACME directory
	CARoots  string // PEM of the root of pebble's own listener, for lego
	HTTPPort int
	TLSPort  int
	DNSAddr  string // challtestsrv's DNS, where pebble looks names up
	mgmt     string // pebble's management address
	dnsMgmt  string // challtestsrv's management address
	procs    []*exec.Cmd
	mu       sync.Mutex // held by the test using the ports
	root     *x509.CertPool
}

// acmeValidity is how long pebble's certificates last: short, so that
// Traefik renews them (it renews certificates with under 20 minutes left
// when told they last less than a day) within a test.
const acmeValidity = 15 * time.Minute

// acmeServer is the package's pebble, started on first use.
type acmeServer struct {
	once sync.Once
	p    *pebble
	err  error
}

var acme acmeServer

// startPebble returns the package's pebble, starting it on first use;
// under NUA_E2E=require a missing pebble fails the test, else skips it.
func startPebble(t *testing.T) *pebble {
	t.Helper()
	for _, bin := range []string{"pebble", "pebble-challtestsrv"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("NUA_E2E") == "require" {
				t.Fatalf("%s not found: run `make deps` (apt-get install pebble)", bin)
			}
			t.Skipf("%s not found: run `make deps` (apt-get install pebble)", bin)
		}
	}
	acme.once.Do(func() { acme.p, acme.err = newPebble() })
	if acme.err != nil {
		t.Fatalf("start pebble: %v", acme.err)
	}
	return acme.p
}

func (a *acmeServer) stop() {
	if a.p == nil {
		return
	}
	for _, c := range a.p.procs {
		c.Process.Kill()
		c.Wait()
	}
	os.RemoveAll(a.p.Dir)
}

// Lock gives the test pebble's validation ports until it ends.
func (p *pebble) Lock(t *testing.T) {
	p.mu.Lock()
	t.Cleanup(p.mu.Unlock)
}

func newPebble() (*pebble, error) {
	dir, err := os.MkdirTemp("", "nua-pebble-")
	if err != nil {
		return nil, err
	}
	p := &pebble{Dir: dir}
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	listen, mgmt, dns, dnsMgmt := ports[0], ports[1], ports[2], ports[3]
	p.HTTPPort, p.TLSPort = ports[4], ports[5]
	p.mgmt = fmt.Sprintf("127.0.0.1:%d", mgmt)
	p.dnsMgmt = fmt.Sprintf("127.0.0.1:%d", dnsMgmt)
	p.DirURL = fmt.Sprintf("https://127.0.0.1:%d/dir", listen)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	p.CARoots = filepath.Join(dir, "ca.pem")
	if err := listenerCert(p.CARoots, certFile, keyFile); err != nil {
		return nil, err
	}
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": fmt.Sprintf("127.0.0.1:%d", listen), "managementListenAddress": p.mgmt,
		"certificate": certFile, "privateKey": keyFile,
		"httpPort": p.HTTPPort, "tlsPort": p.TLSPort,
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
		"certificateValidityPeriod": int(acmeValidity.Seconds()),
	}}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "pebble.json"), data, 0o600); err != nil {
		return nil, err
	}
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", dns)
	p.DNSAddr = dnsAddr
	p.DNSAddr = dnsAddr
	if err := p.run("challtestsrv.log", "pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dns01", dnsAddr, "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", p.dnsMgmt); err != nil {
		return nil, err
	}
	if err := p.run("pebble.log", "pebble", "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", dnsAddr); err != nil {
		return nil, err
	}
	return p, p.waitReady()
}

// run starts a pebble program, its output to a log in Dir.
func (p *pebble) run(log, name string, args ...string) error {
	f, err := os.Create(filepath.Join(p.Dir, log))
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1")
	cmd.Env = slicesWithout(cmd.Env, "PEBBLE_VA_ALWAYS_VALID=")
	if err := cmd.Start(); err != nil {
		return err
	}
	p.procs = append(p.procs, cmd)
	return nil
}

func slicesWithout(env []string, prefix string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

// waitReady waits until the directory answers and fetches the root that
// pebble's issued certificates chain to.
func (p *pebble) waitReady() error {
	ca, err := os.ReadFile(p.CARoots)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Proxy: nil}}
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		root, err := fetchBody(c, "https://"+p.mgmt+"/roots/0")
		if err == nil {
			if _, err = fetchBody(c, p.DirURL); err == nil {
				p.root = x509.NewCertPool()
				if !p.root.AppendCertsFromPEM(root) {
					return fmt.Errorf("pebble's root: no PEM certificate in %q", root)
				}
				return nil
			}
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	logs, _ := os.ReadFile(filepath.Join(p.Dir, "pebble.log"))
	return fmt.Errorf("pebble not ready: %v\n%s", last, logs)
}

func fetchBody(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, err
}

// PointAt makes challtestsrv resolve host to ip (pebble then validates
// there), in place of any address set before.
func (p *pebble) PointAt(t *testing.T, host, ip string) {
	t.Helper()
	for _, call := range []struct {
		path string
		body map[string]any
	}{
		{"/clear-a", map[string]any{"host": host}},
		{"/add-a", map[string]any{"host": host, "addresses": []string{ip}}},
	} {
		body, _ := json.Marshal(call.body)
		resp, err := http.Post("http://"+p.dnsMgmt+call.path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("challtestsrv %s %s: %s", call.path, host, resp.Status)
		}
	}
}

// Client is an HTTP client that verifies servers against pebble's root
// and connects to 127.0.0.1 whatever the host, without following
// redirects.
func (p *pebble) Client() *http.Client {
	dial := func(network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return net.DialTimeout(network, net.JoinHostPort("127.0.0.1", port), 5*time.Second)
	}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:             nil,
			Dial:              dial,
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{RootCAs: p.root},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// DNSHook writes a script for lego's exec DNS provider (EXEC_PATH) that
// sets and clears the challenge's TXT record in challtestsrv.
func (p *pebble) DNSHook(t *testing.T) string {
	t.Helper()
	script := filepath.Join(t.TempDir(), "dns-hook")
	body := `#!/bin/sh
# lego's exec provider: $1 is present or cleanup, $2 the record's FQDN, $3 its value.
case "$1" in
present) exec curl -fsS -o /dev/null -d "{\"host\":\"$2\",\"value\":\"$3\"}" http://` + p.dnsMgmt + `/set-txt ;;
cleanup) exec curl -fsS -o /dev/null -d "{\"host\":\"$2\"}" http://` + p.dnsMgmt + `/clear-txt ;;
esac
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// StartServer starts a nua server serving HTTPS with certificates from
// pebble, on pebble's validation ports, which the test holds until it
// ends. challenge is http or tls-alpn.
func (p *pebble) StartServer(t *testing.T, challenge string, extra ...string) *testutil.Server {
	t.Helper()
	return p.StartServerEnv(t, nil, challenge, extra...)
}

// StartServerEnv is StartServer with env added to the server's.
func (p *pebble) StartServerEnv(t *testing.T, env []string, challenge string, extra ...string) *testutil.Server {
	t.Helper()
	p.Lock(t)
	args := append([]string{
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", p.HTTPPort),
		"--https-addr", fmt.Sprintf("127.0.0.1:%d", p.TLSPort),
		"--domain", "apps.test",
		"--acme-email", "ops@example.org", "--acme-ca", p.DirURL, "--acme-ca-roots", p.CARoots,
		"--acme-challenge", challenge, "--acme-cert-duration", "1",
	}, extra...)
	return testutil.StartServerEnv(t, env, args...)
}

// listenerCert makes a CA and, signed by it, the certificate of pebble's
// listener for 127.0.0.1 and localhost.
func listenerCert(caFile, certFile, keyFile string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nua test pebble CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for file, block := range map[string]*pem.Block{
		caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// freePorts picks n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// TestPebbleHarness checks the ACME server the HTTPS tests use: its
// directory answers over TLS that the roots given to lego verify, and its
// root is fetched.
func TestPebbleHarness(t *testing.T) {
	peb := startPebble(t)
	ca, err := os.ReadFile(peb.CARoots)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	dir, err := fetchBody(c, peb.DirURL)
	if err != nil || !strings.Contains(string(dir), "newOrder") {
		t.Fatalf("GET %s = %q, %v, want the ACME directory", peb.DirURL, dir, err)
	}
	peb.PointAt(t, "elsewhere.test", "127.0.0.2")
}
