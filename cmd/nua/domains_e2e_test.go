package main_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// getHost requests url through c with the Host header host and returns
// the status, the body and the Location header; status 0 is no answer.
func getHost(c *http.Client, url, host string) (int, string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err.Error(), ""
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error(), ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

var plainClient = &http.Client{
	Timeout:       10 * time.Second,
	Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// pushApp pushes the goapp sample as app and fails the test unless it deploys.
func pushApp(t *testing.T, s *testutil.Server, app string) {
	t.Helper()
	repo := testutil.NewRepo(t, "goapp")
	if out, code := s.Push(repo, app, "main"); code != 0 {
		t.Fatalf("git push: exit %d\n%s\nserver log:\n%s", code, out, s.Log())
	}
}

// TestE2EDomains adds, removes and clears custom hosts of a running app:
// Traefik routes each by Host at once, with no redeploy and no failed
// request meanwhile; bad hosts and hosts of another app are refused.
func TestE2EDomains(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	pushApp(t, s, "shop")
	mustSSH(t, s, "apps:create", "other")
	base := fmt.Sprintf("http://127.0.0.1:%d", s.HTTPPort)
	ps := mustSSH(t, s, "ps", "shop")
	pid := psField(t, ps, "web.1", 2)

	// Requests to the app's own host never fail while its hosts change.
	var failed, served atomic.Int64
	var lastFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			status, body, _ := getHost(plainClient, base+"/", "shop.localhost")
			if status != 200 {
				failed.Add(1)
				lastFailure.Store(fmt.Sprintf("%d %q", status, body))
			}
			served.Add(1)
		}
	})

	out := mustSSH(t, s, "domains:add", "shop", "www.shop.test", "Bücher.test", "*.wild.test")
	if !strings.Contains(out, "xn--bcher-kva.test") {
		t.Errorf("domains:add output lacks the punycode host:\n%s", out)
	}
	for _, host := range []string{"www.shop.test", "xn--bcher-kva.test", "a.wild.test", "shop.localhost"} {
		if status, body, _ := getHost(plainClient, base+"/", host); status != 200 || !strings.Contains(body, "hello from goapp") {
			t.Errorf("GET / Host %s right after domains:add = %d %q, want the app", host, status, body)
		}
	}
	out = mustSSH(t, s, "domains", "shop")
	for _, want := range []string{"shop.localhost (the app's own)", "www.shop.test", "xn--bcher-kva.test", "*.wild.test"} {
		if !strings.Contains(out, want) {
			t.Errorf("domains lacks %q:\n%s", want, out)
		}
	}

	t.Run("one app per host", func(t *testing.T) {
		out, code := s.SSH(nil, "domains:add", "other", "WWW.shop.test")
		if code == 0 || !strings.Contains(out, "belongs to app shop") {
			t.Fatalf("domains:add of shop's host to other: exit %d, want an error naming shop:\n%s", code, out)
		}
	})

	t.Run("bad hosts change nothing", func(t *testing.T) {
		for _, bad := range []struct{ host, want string }{
			{"10.0.0.1", "IP address"},
			{"www.example.org.", "trailing dot"},
			{"a..example.org", "empty label"},
			{"my_app.example.org", "underscores"},
			{strings.Repeat("a.", 127) + "org", "253"},
			{"other.localhost", "own address"},
			{"shop.localhost", "own address"},
			{"www.*.example.org", "wildcard"},
		} {
			out, code := s.SSH(nil, "domains:add", "shop", "fine.shop.test", bad.host)
			if code == 0 || !strings.Contains(out, bad.want) {
				t.Errorf("domains:add %q: exit %d, want an error with %q:\n%s", bad.host, code, bad.want, out)
			}
		}
		if out := mustSSH(t, s, "domains", "shop"); strings.Contains(out, "fine.shop.test") {
			t.Fatalf("a refused domains:add added a host:\n%s", out)
		}
	})

	mustSSH(t, s, "domains:remove", "shop", "www.shop.test")
	if status, _, _ := getHost(plainClient, base+"/", "www.shop.test"); status != 404 {
		t.Errorf("GET / Host www.shop.test after domains:remove = %d, want 404", status)
	}
	mustSSH(t, s, "domains:add", "other", "www.shop.test") // free again
	mustSSH(t, s, "domains:clear", "shop")
	for _, host := range []string{"xn--bcher-kva.test", "a.wild.test"} {
		if status, _, _ := getHost(plainClient, base+"/", host); status != 404 {
			t.Errorf("GET / Host %s after domains:clear = %d, want 404", host, status)
		}
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d requests to shop.localhost failed while its hosts changed; last: %v", n, served.Load(), lastFailure.Load())
	}
	if ps := mustSSH(t, s, "ps", "shop"); psField(t, ps, "web.1", 2) != pid {
		t.Errorf("web.1 changed pid while hosts changed (a restart):\n%s", ps)
	}
	if rels := mustSSH(t, s, "releases", "shop"); strings.Contains(rels, "v2") {
		t.Errorf("a domain change made a release:\n%s", rels)
	}
	if logs := mustSSH(t, s, "logs", "shop", "-n", "100"); !strings.Contains(logs, "nua[domains]: added www.shop.test") {
		t.Errorf("logs lack the domains event:\n%s", logs)
	}
}

// TestE2EHTTPS gets real certificates from pebble for a custom host and
// for APP.DOMAIN, serves them verified against pebble's root, redirects
// HTTP once they exist, passes X-Forwarded-Proto, reports a host whose
// validation fails while HTTP keeps serving it, takes a given certificate
// and keeps the certificates across a restart.
func TestE2EHTTPS(t *testing.T) {
	peb := startPebble(t)
	s := peb.StartServer(t, "http", "--acme-retry", "1s")
	pushApp(t, s, "site")
	peb.PointAt(t, "bad.site.test", "127.0.0.2") // nobody listens there
	mustSSH(t, s, "domains:add", "site", "www.site.test", "bad.site.test")
	httpURL := fmt.Sprintf("http://127.0.0.1:%d/", peb.HTTPPort)
	httpsBase := fmt.Sprintf(":%d/", peb.TLSPort)
	c := peb.Client()

	testutil.Eventually(t, 120*time.Second, "certificates issued and the failure reported", func() (bool, string) {
		out, _ := s.SSH(nil, "certs", "site")
		return certState(out, "site.apps.test") == "issued" && certState(out, "www.site.test") == "issued" &&
			certState(out, "bad.site.test") == "failed", out
	})
	out := mustSSH(t, s, "certs", "site")
	if !strings.Contains(out, "Pebble") || !strings.Contains(out, "acme: error") {
		t.Errorf("certs lacks the issuer or the CA's reason:\n%s", out)
	}
	// Traefik loads a certificate as it stores it: serving may lag a little.
	for _, host := range []string{"www.site.test", "site.apps.test"} {
		testutil.Eventually(t, 10*time.Second, "GET https://"+host+"/ verified against pebble's root", func() (bool, string) {
			status, body, _ := getHost(c, "https://"+host+httpsBase, host)
			return status == 200 && strings.Contains(body, "hello from goapp"), fmt.Sprintf("%d %q", status, body)
		})
	}
	if _, proto, _ := getHost(c, "https://www.site.test"+httpsBase+"header/X-Forwarded-Proto", "www.site.test"); proto != "https" {
		t.Errorf("X-Forwarded-Proto over HTTPS = %q, want https", proto)
	}
	testutil.Eventually(t, 20*time.Second, "HTTP redirected to HTTPS", func() (bool, string) {
		status, body, loc := getHost(plainClient, httpURL, "www.site.test")
		return status >= 300 && status < 400 && loc == "https://www.site.test"+httpsBase, fmt.Sprintf("%d %q location %q", status, body, loc)
	})
	if status, body, _ := getHost(plainClient, httpURL, "bad.site.test"); status != 200 || !strings.Contains(body, "hello from goapp") {
		t.Errorf("GET http://bad.site.test/ (no certificate) = %d %q, want the app over HTTP", status, body)
	}
	if info := mustSSH(t, s, "apps:info", "site"); !strings.Contains(info, "bad.site.test failed") || !strings.Contains(info, "www.site.test issued") {
		t.Errorf("apps:info lacks the certificate states:\n%s", info)
	}
	testutil.Eventually(t, 20*time.Second, "certificate events in the logs", func() (bool, string) {
		logs, _ := s.SSH(nil, "logs", "site", "-n", "200")
		return strings.Contains(logs, "nua[certs]: certificate of www.site.test issued") &&
			strings.Contains(logs, "nua[certs]: certificate of bad.site.test failed"), logs
	})

	t.Run("a host whose DNS comes to point here gets its certificate", func(t *testing.T) {
		peb.PointAt(t, "bad.site.test", "127.0.0.1")
		testutil.Eventually(t, 60*time.Second, "bad.site.test issued", func() (bool, string) {
			out, _ := s.SSH(nil, "certs", "site")
			return certState(out, "bad.site.test") == "issued", out
		})
	})

	t.Run("redirect off", func(t *testing.T) {
		mustSSH(t, s, "domains:redirect", "site", "off")
		if status, _, _ := getHost(plainClient, httpURL, "www.site.test"); status != 200 {
			t.Fatalf("GET http://www.site.test/ with the redirect off = %d, want 200", status)
		}
		mustSSH(t, s, "domains:redirect", "site", "on")
		if status, _, _ := getHost(plainClient, httpURL, "www.site.test"); status < 300 || status >= 400 {
			t.Fatalf("GET http://www.site.test/ with the redirect on = %d, want a redirect", status)
		}
	})

	t.Run("acme.json is root's alone", func(t *testing.T) {
		dir := filepath.Join(s.Data, "traefik", "acme")
		for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "acme.json"): 0o600} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: mode %o, want %o", path, got, want)
			}
		}
	})

	t.Run("given certificate", func(t *testing.T) {
		// ACME cannot reach it: the given certificate is its only one.
		peb.PointAt(t, "own.site.test", "127.0.0.2")
		mustSSH(t, s, "domains:add", "site", "own.site.test")
		good, pool := bundle(t, "own.site.test", time.Now().Add(24*time.Hour), nil)
		other, _ := bundle(t, "elsewhere.test", time.Now().Add(24*time.Hour), nil)
		expired, _ := bundle(t, "own.site.test", time.Now().Add(-time.Hour), nil)
		mismatched, _ := bundle(t, "own.site.test", time.Now().Add(24*time.Hour), []byte(good[:strings.Index(good, "-----BEGIN CERTIFICATE")]))
		for _, bad := range []struct{ name, pem, want string }{
			{"garbage", "not a pem", "no PEM CERTIFICATE"},
			{"other host", other, "covers none"},
			{"expired", expired, "expired"},
			{"key mismatch", mismatched, "private key does not match"},
		} {
			out, code := s.SSH(strings.NewReader(bad.pem), "certs:add", "site")
			if code == 0 || !strings.Contains(out, bad.want) {
				t.Errorf("certs:add %s: exit %d, want an error with %q:\n%s", bad.name, code, bad.want, out)
			}
		}
		if out, code := s.SSH(strings.NewReader(good), "certs:add", "site"); code != 0 {
			t.Fatalf("certs:add: exit %d\n%s", code, out)
		}
		if out := mustSSH(t, s, "certs", "site"); certState(out, "own.site.test") != "custom" {
			t.Errorf("certs after certs:add:\n%s", out)
		}
		oc := peb.Client()
		oc.Transport.(*http.Transport).TLSClientConfig.RootCAs = pool
		testutil.Eventually(t, 10*time.Second, "the given certificate served", func() (bool, string) {
			status, body, _ := getHost(oc, "https://own.site.test"+httpsBase, "own.site.test")
			return status == 200, fmt.Sprintf("%d %q", status, body)
		})
		mustSSH(t, s, "certs:remove", "site", "own.site.test")
		if out := mustSSH(t, s, "certs", "site"); certState(out, "own.site.test") == "custom" {
			t.Errorf("certs after certs:remove:\n%s", out)
		}
	})

	t.Run("doctor", func(t *testing.T) {
		out := mustSSH(t, s, "doctor")
		for _, want := range []string{
			fmt.Sprintf("HTTP  port %d answers on 127.0.0.1:%d", peb.HTTPPort, peb.HTTPPort),
			fmt.Sprintf("HTTPS port %d answers on 127.0.0.1:%d", peb.TLSPort, peb.TLSPort),
			"www.site.test (site): does not resolve", // .test names resolve in pebble's DNS only
		} {
			if !strings.Contains(out, want) {
				t.Errorf("doctor lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("certificates survive a restart", func(t *testing.T) {
		s.Stop()
		s.Start()
		if out := mustSSH(t, s, "certs", "site"); certState(out, "www.site.test") != "issued" {
			t.Fatalf("certs after a restart:\n%s", out)
		}
		testutil.Eventually(t, 30*time.Second, "HTTPS after a restart", func() (bool, string) {
			status, body, _ := getHost(c, "https://www.site.test"+httpsBase, "www.site.test")
			return status == 200, fmt.Sprintf("%d %q", status, body)
		})
	})
}

// TestE2ERenewal has pebble issue certificates that last minutes, which
// Traefik renews before they expire, with no redeploy.
func TestE2ERenewal(t *testing.T) {
	peb := startPebble(t)
	s := peb.StartServer(t, "http")
	pushApp(t, s, "renew")
	var first *x509.Certificate
	testutil.Eventually(t, 120*time.Second, "a first certificate", func() (bool, string) {
		first = servedCert(peb, "renew.apps.test")
		return first != nil && strings.Contains(first.Issuer.CommonName, "Pebble"), fmt.Sprint(first)
	})
	testutil.Eventually(t, 200*time.Second, "a renewed certificate", func() (bool, string) {
		cur := servedCert(peb, "renew.apps.test")
		return cur != nil && cur.SerialNumber.Cmp(first.SerialNumber) != 0 && cur.NotAfter.After(first.NotAfter), fmt.Sprint(cur)
	})
	if rels := mustSSH(t, s, "releases", "renew"); strings.Contains(rels, "v2") {
		t.Errorf("the renewal made a release:\n%s", rels)
	}
}

// servedCert is the certificate served for host, verified against
// pebble's root; nil when none verifies.
func servedCert(peb *pebble, host string) *x509.Certificate {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", peb.TLSPort),
		&tls.Config{ServerName: host, RootCAs: peb.root})
	if err != nil {
		return nil
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// certState is the STATE column of host's line in certs output.
func certState(out, host string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == host {
			return f[1]
		}
	}
	return ""
}

// bundle makes a self-signed certificate for host expiring at notAfter
// and returns the PEM bundle certs:add takes (key, then certificate) with
// a pool that trusts it. A non-nil key replaces the bundle's key.
func bundle(t *testing.T, host string, notAfter time.Time, key []byte) (string, *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter, DNSNames: []string{host},
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if key == nil {
		key = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return string(key) + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), pool
}

// TestE2EHTTPSTLSALPN gets the certificate with TLS-ALPN-01, on the HTTPS
// port alone.
func TestE2EHTTPSTLSALPN(t *testing.T) {
	peb := startPebble(t)
	s := peb.StartServer(t, "tls-alpn")
	pushApp(t, s, "alpn")
	c := peb.Client()
	testutil.Eventually(t, 120*time.Second, "HTTPS verified against pebble's root", func() (bool, string) {
		status, body, _ := getHost(c, fmt.Sprintf("https://alpn.apps.test:%d/", peb.TLSPort), "alpn.apps.test")
		return status == 200 && strings.Contains(body, "hello from goapp"), fmt.Sprintf("%d %q", status, body)
	})
	if out := mustSSH(t, s, "certs", "alpn"); certState(out, "alpn.apps.test") != "issued" {
		t.Fatalf("certs:\n%s", out)
	}
}

// TestE2EWildcardDNS gets a wildcard certificate with DNS-01: lego's exec
// provider sets the record in pebble's DNS, checked there before the CA
// looks.
func TestE2EWildcardDNS(t *testing.T) {
	peb := startPebble(t)
	env := []string{"EXEC_PATH=" + peb.DNSHook(t), "EXEC_POLLING_INTERVAL=1", "EXEC_PROPAGATION_TIMEOUT=60"}
	s := peb.StartServerEnv(t, env, "dns", "--acme-dns-provider", "exec", "--acme-dns-resolvers", peb.DNSAddr)
	pushApp(t, s, "wild")
	mustSSH(t, s, "domains:add", "wild", "*.wild.test")
	c := peb.Client()
	testutil.Eventually(t, 120*time.Second, "a wildcard certificate", func() (bool, string) {
		out, _ := s.SSH(nil, "certs", "wild")
		return certState(out, "*.wild.test") == "issued", out
	})
	for _, host := range []string{"a.wild.test", "other.wild.test"} {
		testutil.Eventually(t, 10*time.Second, "GET https://"+host+"/ verified", func() (bool, string) {
			status, body, _ := getHost(c, fmt.Sprintf("https://%s:%d/", host, peb.TLSPort), host)
			return status == 200 && strings.Contains(body, "hello from goapp"), fmt.Sprintf("%d %q", status, body)
		})
	}
}

// TestE2ECADown points the server at a CA that does not answer: the app
// keeps serving over HTTP, Traefik keeps running, and certs says why no
// certificate came.
func TestE2ECADown(t *testing.T) {
	t.Parallel()
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	s := testutil.StartServer(t, "--https-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--acme-email", "ops@example.org", "--acme-ca", fmt.Sprintf("https://127.0.0.1:%d/dir", ports[1]))
	pushApp(t, s, "down")
	testutil.Eventually(t, 60*time.Second, "the failure in certs", func() (bool, string) {
		out, _ := s.SSH(nil, "certs", "down")
		return certState(out, "down.localhost") == "failed" && strings.Contains(out, "connection refused"), out
	})
	if status, body := s.Get("down", "/"); status != 200 || !strings.Contains(body, "hello from goapp") {
		t.Fatalf("GET http://down.localhost/ with the CA down = %d %q, want the app", status, body)
	}
	if log := s.Log(); strings.Contains(log, "traefik exited") {
		t.Fatalf("Traefik exited with the CA down:\n%s", log)
	}
}
