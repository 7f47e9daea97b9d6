package nua

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Event is one entry of the audit trail: who changed what, through which
// door, when, and how it went. It never holds a config value.
type Event struct {
	Time time.Time `json:"time"`
	App  string    `json:"app,omitempty"`
	User string    `json:"user"`
	Key  string    `json:"key,omitempty"`
	Door string    `json:"door"`
	// Action is the command, or "push".
	Action string `json:"action"`
	// Detail says what changed: config names, a scale, a version, a user.
	Detail string `json:"detail,omitempty"`
	// Outcome is OutcomeOK or the first line of the error.
	Outcome string `json:"outcome"`
}

// OutcomeOK is the outcome of a change that succeeded.
const OutcomeOK = "ok"

// MaxEvents is how many events each trail keeps: each app's and the
// server's. Older ones are dropped as new ones come.
const MaxEvents = 10000

// Record appends e to the trail of e.App when appTrail is set, else to
// the server-wide trail. A failure is logged: the change it records is
// done.
func (p *Platform) Record(e Event, appTrail bool) {
	trail := ""
	if appTrail {
		trail = e.App
	}
	if err := p.cfg.Store.AddEvent(trail, e); err != nil {
		p.log.Error("record event", "err", err, "event", fmt.Sprintf("%+v", e))
	}
}

// Events returns the last n events who may see, oldest first: the app's
// when app is given (for a member, those since the app was made), else
// those of every app who may act on, and for an admin the server's too.
func (p *Platform) Events(who Identity, app string, n int) ([]Event, error) {
	if app != "" {
		a, err := p.App(app)
		if err != nil && !who.Admin { // an admin may read a destroyed app's trail
			return nil, err
		}
		evs, err := p.cfg.Store.Events(app, n)
		if err != nil || who.Admin {
			return evs, err
		}
		return since(evs, a.Created), nil
	}
	var all []Event
	if who.Admin {
		trails, err := p.cfg.Store.EventApps()
		if err != nil {
			return nil, err
		}
		for _, t := range append(trails, "") {
			evs, err := p.cfg.Store.Events(t, n)
			if err != nil {
				return nil, err
			}
			all = append(all, evs...)
		}
	} else {
		apps, err := p.AppsFor(who)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			evs, err := p.cfg.Store.Events(a.Name, n)
			if err != nil {
				return nil, err
			}
			all = append(all, since(evs, a.Created)...)
		}
	}
	slices.SortStableFunc(all, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return all[len(all)-min(n, len(all)):], nil
}

// since drops the events before t: those of an earlier app of the same
// name, which its members may not see.
func since(evs []Event, t time.Time) []Event {
	i, _ := slices.BinarySearchFunc(evs, t, func(e Event, t time.Time) int { return cmp.Compare(e.Time.UnixNano(), t.UnixNano()) })
	return evs[i:]
}
