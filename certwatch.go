package nua

import (
	"context"
	"fmt"
	"time"
)

// WatchCerts records in each app's logs the changes of its hosts'
// certificates (issued, renewed, failed, with the CA's reason), at each
// tick, until ctx ends.
func (p *Platform) WatchCerts(ctx context.Context, tick <-chan time.Time) {
	seen := map[string]CertStatus{} // by app and host
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		apps, err := p.cfg.Store.Apps()
		if err != nil {
			p.log.Warn("watch certificates", "err", err)
			continue
		}
		var hosts []string
		for _, a := range apps {
			hosts = append(hosts, p.Hosts(a)...)
		}
		acme, https := p.acmeStatus(hosts)
		for _, a := range apps {
			for _, st := range p.certStatusOf(a, acme, https) {
				key := a.Name + " " + st.Host
				prev, known := seen[key]
				seen[key] = st
				msg := certChange(prev, st, known)
				if msg != "" {
					p.cfg.Monitor.Event(a.Name, "certs", msg)
				}
				if certTrouble(st) && !(known && certTrouble(prev) && prev.Reason == st.Reason) {
					if msg == "" {
						msg = fmt.Sprintf("certificate of %s expires %s and has not been renewed", st.Host, st.NotAfter.UTC().Format(time.RFC3339))
					}
					p.notify(Notice{Event: EventCert, App: a.Name, Text: a.Name + ": " + msg})
				}
			}
		}
	}
}

// expiryWarning is how long before a given certificate expires its app's
// logs say so: nua does not renew those.
const expiryWarning = 14 * 24 * time.Hour

// certChange says how a host's certificate changed, "" when it did not in
// a way worth a line.
func certChange(prev, cur CertStatus, known bool) string {
	switch {
	case cur.State == CertIssued && (prev.State != CertIssued || !prev.NotAfter.Equal(cur.NotAfter)):
		verb := "issued"
		if prev.State == CertIssued {
			verb = "renewed"
		}
		return fmt.Sprintf("certificate of %s %s by %s, expires %s", cur.Host, verb, cur.Issuer, cur.NotAfter.UTC().Format(time.RFC3339))
	case cur.State == CertFailed && (prev.State != CertFailed || prev.Reason != cur.Reason):
		return fmt.Sprintf("certificate of %s failed: %s (HTTP keeps serving)", cur.Host, cur.Reason)
	case cur.State == CertCustom && time.Until(cur.NotAfter) < expiryWarning &&
		(prev.State != CertCustom || !prev.NotAfter.Equal(cur.NotAfter) || time.Until(prev.NotAfter) >= expiryWarning):
		return fmt.Sprintf("given certificate of %s expires %s: give a new one with certs:add", cur.Host, cur.NotAfter.UTC().Format(time.RFC3339))
	case cur.State == CertPending && known && prev.State != CertPending:
		return fmt.Sprintf("certificate of %s pending", cur.Host)
	}
	return ""
}

// certTrouble reports whether a host's certificate is one the channels
// hear of: failing, or expiring within expiryWarning (a given one, or an
// ACME one whose renewal has not come).
func certTrouble(st CertStatus) bool {
	return st.State == CertFailed || (st.State == CertIssued || st.State == CertCustom) && time.Until(st.NotAfter) < expiryWarning
}
