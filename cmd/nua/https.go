package main

import (
	"net"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/nua-paas/nua/proxy"
)

// httpsFlags are the server's flags for HTTPS and ACME.
func httpsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "https-addr", Usage: "public HTTPS address (Traefik's websecure entrypoint), e.g. :443; needs --acme-email; default: no HTTPS"},
		&cli.StringFlag{Name: "acme-email", Usage: "contact `ADDR` of the ACME account that gets the apps' certificates"},
		&cli.StringFlag{Name: "acme-ca", Usage: "ACME directory `URL` (default: Let's Encrypt)"},
		&cli.StringFlag{Name: "acme-ca-roots", Usage: "PEM `FILE` of the roots the ACME CA's own HTTPS certificate chains to, for a private CA"},
		&cli.StringFlag{Name: "acme-challenge", Value: proxy.ChallengeHTTP, Usage: "how the CA checks a host: http (HTTP-01), tls-alpn (TLS-ALPN-01) or dns (DNS-01, for wildcards; needs --acme-dns-provider)"},
		&cli.StringFlag{Name: "acme-dns-provider", Usage: "lego DNS provider `NAME` for the dns challenge; its credentials come from nua's environment"},
		&cli.StringSliceFlag{Name: "acme-dns-resolvers", Usage: "`HOST:PORT` of DNS servers where the dns challenge's record must show before the CA looks (default: the system's, then the zone's own servers)"},
		&cli.DurationFlag{Name: "acme-retry", Value: proxy.DefaultRetry, Usage: "how often the CA is asked again for hosts that lack a certificate"},
		&cli.IntFlag{Name: "acme-cert-duration", Usage: "`HOURS` the CA's certificates last, from which renewals are timed (default: 90 days)"},
	}
}

// httpsConfig is the HTTPS the flags ask for, nil for none.
func httpsConfig(c *cli.Context) *proxy.HTTPS {
	if c.String("https-addr") == "" {
		return nil
	}
	roots := c.String("acme-ca-roots")
	if roots != "" { // Traefik runs in its own dir
		if abs, err := filepath.Abs(roots); err == nil {
			roots = abs
		}
	}
	return &proxy.HTTPS{
		Addr: c.String("https-addr"), Email: c.String("acme-email"),
		CA: c.String("acme-ca"), CARoots: roots,
		Challenge: c.String("acme-challenge"), DNSProvider: c.String("acme-dns-provider"), DNSResolvers: c.StringSlice("acme-dns-resolvers"),
		CertHours: c.Int("acme-cert-duration"), Retry: c.Duration("acme-retry"),
	}
}

// httpsPort is the port of the HTTPS address, 0 for none.
func httpsPort(h *proxy.HTTPS) int {
	if h == nil {
		return 0
	}
	_, port, _ := net.SplitHostPort(h.Addr)
	n, _ := strconv.Atoi(port)
	return n
}
