package nua_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
)

// processType is the process-type rule written out again, apart from the
// code under test.
var processType = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// FuzzReadAppJSON reads arbitrary bytes as an app's app.json: a refusal is
// always a user error (ErrInvalid), and what is accepted keeps app.json's
// documented limits and reads back the same once written out again.
func FuzzReadAppJSON(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"x"`,
		`{"formation":{"web":{"quantity":2},"worker":{"quantity":0}}}`,
		`{"formation":{"web":{"quantity":1001}}}`,
		`{"formation":{"we b":{"quantity":1}}}`,
		`{"healthchecks":{"web":[{"type":"startup","path":"/health","attempts":5,"timeout":2,"wait":1}]}}`,
		`{"healthchecks":{"web":[{"path":"health"}]}}`,
		`{"healthchecks":{"web":[{"type":"liveness","path":"/"}]}}`,
		`{"scripts":{"postdeploy":"bin/migrate"},"env":{"A":{"value":"1"}},"FORMATION":{"Web":{"Quantity":3}}}`,
		`{"formation":{"web":{"quantity":2}},"formation":{"web":{"quantity":-1}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "app.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := nua.ReadAppJSON(dir)
		if err != nil {
			if !errors.Is(err, nua.ErrInvalid) {
				t.Fatalf("ReadAppJSON(%q): %v, want an ErrInvalid", data, err)
			}
			return
		}
		checkAppJSONLimits(t, data, m)
		// Written out and read again, it is the same manifest.
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("marshal %+v: %v", m, err)
		}
		again, err := nua.ParseAppJSON(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("ParseAppJSON refuses %s, written from the accepted %q: %v", out, data, err)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("app.json %q read back as %s, then %s", data, out, out2)
		}
	})
}

// checkAppJSONLimits checks an accepted manifest against app.json's limits,
// written out here apart from the code under test: process-type names,
// formation quantities up to 1000, startup checks of a path under / (at most
// 1024 bytes) with up to 100 attempts and timeout and wait up to 600s.
func checkAppJSONLimits(t *testing.T, data []byte, m nua.AppJSON) {
	t.Helper()
	for typ, e := range m.Formation {
		if !processType.MatchString(typ) || e.Quantity < 0 || e.Quantity > 1000 {
			t.Fatalf("accepted %q with formation %q quantity %d", data, typ, e.Quantity)
		}
	}
	for typ, checks := range m.Healthchecks {
		if !processType.MatchString(typ) {
			t.Fatalf("accepted %q with healthchecks for %q", data, typ)
		}
		for _, h := range checks {
			switch {
			case !strings.HasPrefix(h.Path, "/") || len(h.Path) > 1024:
				t.Fatalf("accepted %q with path %q", data, h.Path)
			case h.Type != "" && h.Type != "startup":
				t.Fatalf("accepted %q with type %q", data, h.Type)
			case h.Attempts < 0 || h.Attempts > 100 || h.Timeout < 0 || h.Timeout > 600 || h.Wait < 0 || h.Wait > 600:
				t.Fatalf("accepted %q with attempts %d, timeout %d, wait %d", data, h.Attempts, h.Timeout, h.Wait)
			}
		}
	}
}
