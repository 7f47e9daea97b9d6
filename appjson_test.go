package nua_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
)

func TestAppJSONCheckScale(t *testing.T) {
	tests := []struct {
		name, json string
		max        int
		err        string // "" = within the cap
	}{
		{"no formation", `{}`, 20, ""},
		{"at the cap", `{"formation":{"web":{"quantity":20}}}`, 20, ""},
		{"zero", `{"formation":{"worker":{"quantity":0}}}`, 1, ""},
		{"over the cap", `{"formation":{"web":{"quantity":2},"worker":{"quantity":21}}}`, 20,
			"app.json formation.worker.quantity 21 is over this server's cap of 20 instances per process type (nua server --max-scale): lower it to 20 or less"},
		{"the first type over it named", `{"formation":{"b":{"quantity":9},"a":{"quantity":9}}}`, 5, "formation.a.quantity 9"},
		{"a server with a small cap", `{"formation":{"web":{"quantity":3}}}`, 2, "cap of 2 instances"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := nua.ParseAppJSON(strings.NewReader(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			err = m.CheckScale(tt.max)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !errors.Is(err, nua.ErrInvalid) || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("CheckScale(%d) = %v, want %q", tt.max, err, tt.err)
			}
		})
	}
}

func FuzzAppJSONCheckScale(f *testing.F) {
	f.Add(`{"formation":{"web":{"quantity":2}}}`, 1)
	f.Add(`{"formation":{"web":{"quantity":1000},"w":{"quantity":0}}}`, 20)
	f.Fuzz(func(t *testing.T, s string, max int) {
		m, err := nua.ParseAppJSON(strings.NewReader(s))
		if err != nil || m.CheckScale(max) != nil {
			return
		}
		for typ, e := range m.Formation {
			if e.Quantity > max {
				t.Fatalf("accepted %s=%d over the cap %d", typ, e.Quantity, max)
			}
		}
	})
}
