package main_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// webhookReceiver is an HTTP server on loopback that keeps the notices it
// gets whose signature checks out under secret, and counts those whose
// does not.
type webhookReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	secret  string
	notices []map[string]any
	forged  int
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	r := &webhookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		m := hmac.New(sha256.New, []byte(r.secret))
		m.Write(body)
		var n map[string]any
		if req.Header.Get("X-Nua-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) || json.Unmarshal(body, &n) != nil {
			r.forged++
			return
		}
		r.notices = append(r.notices, n)
	}))
	t.Cleanup(r.Close)
	return r
}

// waitFor waits until a notice of event about app with ok arrives.
func (r *webhookReceiver) waitFor(t *testing.T, event, app string, ok bool) map[string]any {
	t.Helper()
	var found map[string]any
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("a signed %s notice of %s (ok=%t)", event, app, ok), func() (bool, string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, n := range r.notices {
			if n["event"] == event && (n["app"] == app || n["app"] == nil && app == "") && n["ok"] == ok {
				found = n
				return true, ""
			}
		}
		return false, fmt.Sprintf("got %v, %d with a bad signature", r.notices, r.forged)
	})
	return found
}

var secretRE = regexp.MustCompile(`(?m)^\s+([0-9a-f]{64})$`)

// TestE2ENotifications adds a webhook over SSH and receives, signed, a
// deploy that went live, a failed deploy and a crash loop; bad channels
// are refused.
func TestE2ENotifications(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t)
	hook := newWebhookReceiver(t)
	for _, bad := range [][]string{
		{"notifications:add", "ops", "webhook", "ftp://127.0.0.1/x"},
		{"notifications:add", "ops", "webhook", "http://127.0.0.1/x", "--events", "deploy,reboot"},
		{"notifications:add", "ops", "pigeon", "http://127.0.0.1/x"},
	} {
		if out, code := s.SSH(nil, bad...); code == 0 || !strings.Contains(out, "!") {
			t.Fatalf("%q: exit %d, want a clear refusal:\n%s", bad, code, out)
		}
	}
	if out, _ := s.SSH(nil, "notifications"); !strings.Contains(out, "No notifications") {
		t.Fatalf("a refused channel was kept:\n%s", out)
	}
	out, code := s.SSH(nil, "notifications:add", "ops", "webhook", hook.URL+"/nua", "--events", "deploy,crash")
	m := secretRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("notifications:add: exit %d, want the signing secret:\n%s", code, out)
	}
	hook.mu.Lock()
	hook.secret = m[1]
	hook.mu.Unlock()
	if out, code := s.SSH(nil, "notifications:test", "ops"); code != 0 {
		t.Fatalf("notifications:test: exit %d\n%s", code, out)
	}
	hook.waitFor(t, "test", "", true)

	repo := testutil.NewRepo(t, "procfile")
	mustPush(t, s, repo, "app")
	if n := hook.waitFor(t, "deploy", "app", true); !strings.Contains(n["text"].(string), "app: v1 deployed") {
		t.Errorf("deploy notice %v", n)
	}
	empty := testutil.NewRepo(t, "empty")
	if out, code := s.Push(empty, "empty", "main"); code == 0 {
		t.Fatalf("push of an empty app succeeded:\n%s", out)
	}
	if n := hook.waitFor(t, "deploy", "empty", false); !strings.Contains(n["text"].(string), "failed") {
		t.Errorf("failed deploy notice %v", n)
	}

	testutil.Commit(t, repo, "worker.sh", "echo worker giving up >&2\nexit 1\n")
	mustPush(t, s, repo, "app")
	n := hook.waitFor(t, "crash", "app", false)
	if text := n["text"].(string); !strings.Contains(text, "worker.1 (exit status 1)") {
		t.Errorf("crash notice %q, want the worker and its exit", text)
	}
	if status, _ := s.Get("app", "/"); status != 200 {
		t.Errorf("the web process stopped serving while the worker crashed: %d", status)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if hook.forged != 0 {
		t.Errorf("%d notices with a bad signature", hook.forged)
	}
}
