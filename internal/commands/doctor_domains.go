package commands

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nua-paas/nua"
)

// doctorDomains reports whether the proxy's HTTP and HTTPS ports answer
// on this server's addresses and whether each app's hosts resolve to one
// of them, with this host's own resolver: no outside service is asked.
func doctorDomains(ctx context.Context, w io.Writer, p *nua.Platform) {
	fmt.Fprintln(w, "-----> Domains and HTTPS")
	local := localAddrs()
	httpPort, httpsPort := p.Ports()
	for _, port := range []struct {
		name string
		n    int
	}{{"HTTP", httpPort}, {"HTTPS", httpsPort}} {
		if port.n == 0 {
			fmt.Fprintf(w, "       %-5s not served (`nua server --https-addr :443 --acme-email ADDR` serves it)\n", port.name)
			continue
		}
		var open, closed []string
		for _, ip := range append([]string{"127.0.0.1"}, local...) {
			addr := net.JoinHostPort(ip, strconv.Itoa(port.n))
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				open = append(open, addr)
			} else {
				closed = append(closed, addr)
			}
		}
		fmt.Fprintf(w, "       %-5s port %d answers on %s", port.name, port.n, orNone(open))
		if len(closed) > 0 {
			fmt.Fprintf(w, "; not on %s", strings.Join(closed, ", "))
		}
		fmt.Fprintln(w)
	}
	apps, err := p.Apps()
	if err != nil {
		fmt.Fprintf(w, "       cannot list apps: %v\n", err)
		return
	}
	for _, a := range apps {
		for _, h := range p.Hosts(a) {
			fmt.Fprintf(w, "       %s (%s): %s\n", h, a.Name, resolvesHere(ctx, h, local))
		}
	}
}

// resolvesHere says where host's DNS points: here, elsewhere or nowhere.
func resolvesHere(ctx context.Context, host string, local []string) string {
	name := host
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		name = "nua-doctor." + rest // any name under the wildcard
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupHost(ctx, name)
	if err != nil || len(ips) == 0 {
		return "does not resolve: point its DNS (A/AAAA) at this server"
	}
	var here, elsewhere []string
	for _, ip := range ips {
		if slices.Contains(local, ip) || net.ParseIP(ip).IsLoopback() {
			here = append(here, ip)
		} else {
			elsewhere = append(elsewhere, ip)
		}
	}
	switch {
	case len(elsewhere) == 0:
		return "points here (" + strings.Join(here, ", ") + ")"
	case len(here) == 0:
		return "points elsewhere (" + strings.Join(elsewhere, ", ") + "): ACME cannot validate it until it points here"
	}
	return "points here and elsewhere (" + strings.Join(elsewhere, ", ") + "): some requests go astray"
}

// localAddrs are the addresses of this host's interfaces, loopback aside.
func localAddrs() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}

func orNone(addrs []string) string {
	if len(addrs) == 0 {
		return "none of this host's addresses"
	}
	return strings.Join(addrs, ", ")
}
