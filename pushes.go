package nua

import (
	"crypto/rand"
	"fmt"
	"sync"
)

// pushes are the git-receive-pack sessions in progress. The pre-receive
// hook git runs in one reaches the daemon through the admin socket and
// names its session by a token only that git process holds: the hook
// learns who pushes from the daemon, never from its caller.
type pushes struct {
	mu sync.Mutex
	m  map[string]pushSession
}

type pushSession struct {
	app string
	who Identity
}

// start registers a push by who to app and returns its token and the
// function that ends the session.
func (ps *pushes) start(app string, who Identity) (token string, end func()) {
	token = rand.Text()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]pushSession{}
	}
	ps.m[token] = pushSession{app: app, who: who}
	return token, func() {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		delete(ps.m, token)
	}
}

// Pusher returns who pushes to app in the session token names. A token
// that names no session in progress, or one to another app, is refused.
func (p *Platform) Pusher(token, app string) (Identity, error) {
	p.pushes.mu.Lock()
	defer p.pushes.mu.Unlock()
	s, ok := p.pushes.m[token]
	if !ok || token == "" || s.app != app {
		return Identity{}, fmt.Errorf("%w: the pre-receive hook runs only inside a push nua serves: push with git instead", ErrForbidden)
	}
	return s.who, nil
}
