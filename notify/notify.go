// Package notify delivers nua's notices: a JSON POST signed with
// HMAC-SHA256 to a webhook, or a plain-text email through the server's
// SMTP relay. Each delivery is retried with backoff on a temporary
// failure and bounded in time, so a receiver that hangs holds nothing for
// long.
package notify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/nua-paas/nua"
)

// Header names of a webhook request.
const (
	// SignatureHeader holds "sha256=" and the hex HMAC-SHA256 of the body
	// under the channel's secret.
	SignatureHeader = "X-Nua-Signature"
	// EventHeader holds the notice's event ("deploy", "crash", ...).
	EventHeader = "X-Nua-Event"
)

// Sign returns the SignatureHeader value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// SMTP is the relay email notices go through.
type SMTP struct {
	Addr     string // host:port; "" sends no email
	From     string // the sender address
	Username string // for AUTH PLAIN, which net/smtp allows over TLS or to localhost only
	Password string
}

// Sender is a nua.Notifier.
type Sender struct {
	SMTP SMTP
	// Attempts is how many times a delivery is tried (default 5);
	// Backoff the first wait between tries, doubled each time (default
	// 1s); Timeout bounds each try (default 10s).
	Attempts int
	Backoff  time.Duration
	Timeout  time.Duration
	// Server names this server in the notices (its domain).
	Server string

	client *http.Client
}

var _ nua.Notifier = (*Sender)(nil)

// payload is the JSON body of a webhook request.
type payload struct {
	nua.Notice
	Server string `json:"server,omitempty"`
}

// permanent marks a failure a retry will not mend (a 4xx answer, a
// refused address).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Send implements nua.Notifier.
func (s *Sender) Send(ctx context.Context, n nua.Notification, notice nua.Notice) error {
	var try func(context.Context) error
	switch n.Kind {
	case nua.NotifyWebhook:
		body, err := json.Marshal(payload{Notice: notice, Server: s.Server})
		if err != nil {
			return err
		}
		try = func(ctx context.Context) error { return s.post(ctx, n, notice.Event, body) }
	case nua.NotifyEmail:
		if s.SMTP.Addr == "" {
			return errors.New("this server has no SMTP relay: start it with --smtp-addr and --smtp-from")
		}
		msg := s.message(n.Target, notice)
		try = func(ctx context.Context) error { return s.mail(ctx, n.Target, msg) }
	default:
		return fmt.Errorf("unknown notification kind %q", n.Kind)
	}
	attempts, wait := cmp.Or(s.Attempts, 5), cmp.Or(s.Backoff, time.Second)
	var err error
	for i := range attempts {
		tctx, cancel := context.WithTimeout(ctx, cmp.Or(s.Timeout, 10*time.Second))
		err = try(tctx)
		cancel()
		if err == nil || errors.As(err, new(permanent)) || i == attempts-1 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	return err
}

// post makes one webhook request.
func (s *Sender) post(ctx context.Context, n nua.Notification, event string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.Target, bytes.NewReader(body))
	if err != nil {
		return permanent{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "nua/"+nua.Version)
	req.Header.Set(EventHeader, event)
	req.Header.Set(SignatureHeader, Sign(n.Secret, body))
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return permanent{fmt.Errorf("webhook answered %s", resp.Status)}
	}
}

// httpClient follows no redirects: a receiver that moved says so in its
// status, and a signed POST goes nowhere the operator did not name.
func (s *Sender) httpClient() *http.Client {
	if s.client == nil {
		s.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return s.client
}

// message is the email of notice to rcpt, CRLF-terminated.
func (s *Sender) message(rcpt string, notice nua.Notice) []byte {
	subject := "[nua] " + notice.Event
	if notice.App != "" {
		subject += " " + notice.App
	}
	if !notice.OK {
		subject += ": failed"
	}
	if notice.Event == "test" {
		subject = "[nua] test notification"
	}
	var b strings.Builder
	for _, h := range [][2]string{
		{"From", s.SMTP.From}, {"To", rcpt}, {"Subject", subject},
		{"Date", notice.Time.Format(time.RFC1123Z)}, {"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"}, {"Content-Transfer-Encoding", "8bit"},
		{"X-Nua-Event", notice.Event},
	} {
		b.WriteString(h[0] + ": " + oneLine(h[1]) + "\r\n")
	}
	b.WriteString("\r\n")
	for _, line := range strings.Split(notice.Text, "\n") { // the DATA writer dot-stuffs
		b.WriteString(strings.TrimRight(line, "\r") + "\r\n")
	}
	if s.Server != "" {
		b.WriteString("\r\n-- \r\nnua on " + oneLine(s.Server) + "\r\n")
	}
	return []byte(b.String())
}

// mail sends msg to rcpt through the relay in one SMTP session, bounded
// by ctx.
func (s *Sender) mail(ctx context.Context, rcpt string, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.SMTP.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(s.SMTP.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return smtpErr(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return smtpErr(err)
		}
	}
	if s.SMTP.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.SMTP.Username, s.SMTP.Password, host)); err != nil {
			return smtpErr(err)
		}
	}
	if err := c.Mail(s.SMTP.From); err != nil {
		return smtpErr(err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return smtpErr(err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpErr(err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(err)
	}
	return smtpErr(c.Quit())
}

// smtpErr marks a 5xx answer permanent.
func smtpErr(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanent{fmt.Errorf("SMTP relay refused: %w", err)}
	}
	if err != nil {
		return fmt.Errorf("SMTP relay: %w", err)
	}
	return nil
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
