package nua

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nua-paas/nua/internal/appname"
	"github.com/nua-paas/nua/internal/excerpt"
)

// The kinds of notification channels.
const (
	NotifyWebhook = "webhook"
	NotifyEmail   = "email"
)

// The events a channel can be told of.
const (
	EventDeploy = "deploy" // a push deployed or failed
	EventCrash  = "crash"  // a process keeps crashing
	EventBackup = "backup" // a backup or restore drill failed
	EventCert   = "cert"   // a certificate is failing or expires soon
	EventDisk   = "disk"   // the data dir's disk is nearly full
)

// NotifyEvents are the events, in the order `notifications` lists them.
var NotifyEvents = []string{EventDeploy, EventCrash, EventBackup, EventCert, EventDisk}

// Notification is a channel the operator is told through when something
// happens: a webhook that receives a signed JSON POST, or an email
// address.
type Notification struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`   // NotifyWebhook or NotifyEmail
	Target string   `json:"target"` // the webhook's URL or the email address
	Events []string `json:"events"` // which of NotifyEvents it gets
	// Secret signs a webhook's requests (HMAC-SHA256 of the body).
	Secret  string    `json:"secret,omitempty"`
	By      string    `json:"by,omitempty"`
	Created time.Time `json:"created"`
}

// Wants reports whether n is told of event.
func (n Notification) Wants(event string) bool { return slices.Contains(n.Events, event) }

// Notice is one thing a channel is told.
type Notice struct {
	Event string    `json:"event"` // one of NotifyEvents
	App   string    `json:"app,omitempty"`
	OK    bool      `json:"ok"` // a deploy that succeeded; false for every failure
	Text  string    `json:"text"`
	Time  time.Time `json:"time"`
}

// Notifier delivers notices; the notify package does, by HTTP and SMTP.
// Send returns once the notice is delivered or every retry failed; it
// gives up when ctx is done.
type Notifier interface {
	Send(ctx context.Context, n Notification, notice Notice) error
}

// NotificationStore keeps the notification channels. A Store implements
// it when its server notifies; the store package does.
type NotificationStore interface {
	// Notifications returns the channels, sorted by name.
	Notifications() ([]Notification, error)
	// AddNotification adds one; it fails with ErrExists when its name is
	// taken.
	AddNotification(Notification) error
	// RemoveNotification removes one or fails with ErrNotFound.
	RemoveNotification(name string) error
}

var errNoNotifications = errors.New("this server sends no notifications")

func (p *Platform) notificationStore() (NotificationStore, error) {
	ns, ok := p.cfg.Store.(NotificationStore)
	if !ok || p.cfg.Notifier == nil {
		return nil, errNoNotifications
	}
	return ns, nil
}

// Notifications lists the channels.
func (p *Platform) Notifications() ([]Notification, error) {
	ns, err := p.notificationStore()
	if err != nil {
		return nil, err
	}
	return ns.Notifications()
}

// AddNotification adds the channel name of kind (NotifyWebhook with an
// http(s) URL, NotifyEmail with an address) for events (nil: all). A
// webhook gets a new signing secret, returned in the channel.
func (p *Platform) AddNotification(name, kind, target string, events []string, by string) (Notification, error) {
	n := Notification{Name: name, Kind: kind, Target: target, Events: events, By: by, Created: time.Now().UTC()}
	if len(n.Events) == 0 {
		n.Events = slices.Clone(NotifyEvents)
	}
	if err := n.validate(); err != nil {
		return Notification{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	ns, err := p.notificationStore()
	if err != nil {
		return Notification{}, err
	}
	if n.Kind == NotifyWebhook {
		b := make([]byte, 32)
		rand.Read(b)
		n.Secret = hex.EncodeToString(b)
	}
	if err := ns.AddNotification(n); err != nil {
		return Notification{}, err
	}
	p.log.Info("notification added", "name", n.Name, "kind", n.Kind, "by", by)
	return n, nil
}

// RemoveNotification removes the channel name.
func (p *Platform) RemoveNotification(name string) error {
	ns, err := p.notificationStore()
	if err != nil {
		return err
	}
	return ns.RemoveNotification(name)
}

// TestNotification sends a test notice through the channel name and waits
// for its delivery.
func (p *Platform) TestNotification(ctx context.Context, name string) error {
	n, err := p.notification(name)
	if err != nil {
		return err
	}
	notice := Notice{Event: "test", OK: true, Text: "A test notification from nua on " + p.cfg.Domain, Time: time.Now().UTC()}
	if err := p.cfg.Notifier.Send(ctx, n, notice); err != nil {
		return fmt.Errorf("notification %s: %w", name, err)
	}
	return nil
}

func (p *Platform) notification(name string) (Notification, error) {
	all, err := p.Notifications()
	if err != nil {
		return Notification{}, err
	}
	i := slices.IndexFunc(all, func(n Notification) bool { return n.Name == name })
	if i < 0 {
		return Notification{}, fmt.Errorf("notification %q: %w: `notifications` lists them", excerpt.Of(name), ErrNotFound)
	}
	return all[i], nil
}

// validate checks a new channel's fields.
func (n Notification) validate() error {
	if !appname.Valid(n.Name) {
		return fmt.Errorf("notification name %q: use 1 to 63 lowercase letters, digits and dashes, starting with a letter and not ending with a dash", excerpt.Of(n.Name))
	}
	switch n.Kind {
	case NotifyWebhook:
		if err := checkWebhookURL(n.Target); err != nil {
			return err
		}
	case NotifyEmail:
		a, err := mail.ParseAddress(n.Target)
		if err != nil || a.Address != n.Target || strings.ContainsAny(n.Target, "\r\n") {
			return fmt.Errorf("%q is not an email address (name@example.org)", excerpt.Of(n.Target))
		}
	default:
		return fmt.Errorf("unknown notification kind %q: use webhook or email", excerpt.Of(n.Kind))
	}
	for _, e := range n.Events {
		if !slices.Contains(NotifyEvents, e) {
			return fmt.Errorf("unknown event %q: the events are %s", excerpt.Of(e), strings.Join(NotifyEvents, ","))
		}
	}
	return nil
}

// checkWebhookURL accepts an absolute http or https URL with a host and
// no credentials.
func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || len(s) > 2048:
		return fmt.Errorf("%q is not a URL", excerpt.Of(s))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("webhook URL %q: only http and https URLs are allowed", excerpt.Of(s))
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("webhook URL %q has no host", excerpt.Of(s))
	case u.User != nil:
		return fmt.Errorf("webhook URL %q holds credentials: the requests are signed, see `notifications`", excerpt.Of(s))
	case u.Fragment != "":
		return fmt.Errorf("webhook URL %q has a #fragment", excerpt.Of(s))
	}
	return nil
}

// notifyTimeout bounds the delivery of one notice, retries included.
const notifyTimeout = 2 * time.Minute

// notify sends notice to every channel that wants it, in the background.
// Deliveries run at most maxDeliveries at a time; beyond that a notice is
// dropped and logged, so that a hanging receiver never piles up work.
func (p *Platform) notify(notice Notice) {
	if p.cfg.Notifier == nil {
		return
	}
	ns, ok := p.cfg.Store.(NotificationStore)
	if !ok {
		return
	}
	all, err := ns.Notifications()
	if err != nil {
		p.log.Error("notifications", "err", err)
		return
	}
	if notice.Time.IsZero() {
		notice.Time = time.Now().UTC()
	}
	for _, n := range all {
		if !n.Wants(notice.Event) {
			continue
		}
		select {
		case p.deliveries <- struct{}{}:
		default:
			p.log.Warn("notification dropped: too many deliveries under way", "name", n.Name, "event", notice.Event)
			continue
		}
		p.delivering.Add(1)
		go func() {
			defer func() { <-p.deliveries; p.delivering.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
			defer cancel()
			if err := p.cfg.Notifier.Send(ctx, n, notice); err != nil {
				p.log.Warn("notification failed", "name", n.Name, "event", notice.Event, "err", err)
				return
			}
			p.log.Info("notified", "name", n.Name, "event", notice.Event, "app", notice.App)
		}()
	}
}

// maxDeliveries bounds the deliveries under way at once.
const maxDeliveries = 32

// crashLoop is how many crashes of one app within crashWindow make a
// crash loop; crashQuiet is how long after a crash-loop notice the app's
// further crashes stay unannounced.
const (
	crashLoop   = 3
	crashWindow = 5 * time.Minute
	crashQuiet  = 15 * time.Minute
)

// alerts remembers what the crash-loop and disk notices need: the apps'
// recent crashes and when each notice last went.
type alerts struct {
	mu        sync.Mutex
	crashes   map[string][]time.Time // by app
	announced map[string]time.Time   // crash-loop notices, by app
	disk      time.Time              // the last disk-full notice
}

// ProcessCrashed is told of each crash of an app's process (name, e.g.
// "web.1", ended as how) that its supervisor restarts. Once an app
// crashed crashLoop times within crashWindow, the channels hear of it.
func (p *Platform) ProcessCrashed(app, name, how string) {
	now := time.Now()
	c := &p.alerts
	c.mu.Lock()
	if c.crashes == nil {
		c.crashes, c.announced = map[string][]time.Time{}, map[string]time.Time{}
	}
	recent := slices.DeleteFunc(append(c.crashes[app], now), func(t time.Time) bool { return now.Sub(t) > crashWindow })
	c.crashes[app] = recent
	loop := len(recent) >= crashLoop && now.Sub(c.announced[app]) > crashQuiet
	if loop {
		c.announced[app] = now
	}
	c.mu.Unlock()
	if loop {
		p.notify(Notice{Event: EventCrash, App: app,
			Text: fmt.Sprintf("%s is crashing: %d crashes in %s, the last %s (%s); `logs %s` says why", app, len(recent), crashWindow, name, how, app)})
	}
}

// DiskAlert is the share of the data dir's disk in use above which the
// channels hear of it.
const DiskAlert = 0.85

// CheckDiskUsage tells the channels when the data dir's disk is more than
// DiskAlert full, at most once a day while it stays so.
func (p *Platform) CheckDiskUsage(free, total uint64) {
	if total == 0 {
		return
	}
	used := 1 - float64(free)/float64(total)
	a := &p.alerts
	a.mu.Lock()
	announce := used > DiskAlert && time.Since(a.disk) > 24*time.Hour
	switch {
	case announce:
		a.disk = time.Now()
	case used <= DiskAlert:
		a.disk = time.Time{}
	}
	a.mu.Unlock()
	if announce {
		p.notify(Notice{Event: EventDisk, Text: fmt.Sprintf("the disk of %s is %.0f%% full: %d MiB free of %d MiB; `system:df` shows what takes it, `system:prune` frees what no app needs",
			p.cfg.DataDir, used*100, free>>20, total>>20)})
	}
}

// WaitNotifications waits until the deliveries under way are done, or ctx
// is.
func (p *Platform) WaitNotifications(ctx context.Context) error {
	done := make(chan struct{})
	go func() { p.delivering.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
