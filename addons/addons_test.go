package addons_test

import (
	"crypto/tls"
	"testing"

	"github.com/nua-paas/nua/addons"
)

func TestPassword(t *testing.T) {
	a, err := addons.Password()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := addons.Password()
	if len(a) != 64 || a == b {
		t.Fatalf("Password() = %q then %q: want two different 32-byte hex strings", a, b)
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		name                       string
		scheme, user, pw, database string
		want                       string
	}{
		{"postgres", "postgres", "shop_db", "s3cret", "shop_db", "postgres://shop_db:s3cret@127.0.0.1:5433/shop_db"},
		{"redis, no user", "redis", "", "s3cret", "", "redis://:s3cret@127.0.0.1:5433"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := addons.URL(tt.scheme, 5433, tt.user, tt.pw, tt.database)
			if got != tt.want {
				t.Fatalf("URL = %q, want %q", got, tt.want)
			}
			e, err := addons.ParseURL(got)
			if err != nil || e.User != tt.user || e.Password != tt.pw || e.Database != tt.database || e.Port != "5433" || e.Host != "127.0.0.1" {
				t.Fatalf("ParseURL(%q) = %+v, %v", got, e, err)
			}
		})
	}
}

func TestSelfSignedCert(t *testing.T) {
	cert, key, err := addons.SelfSignedCert("test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		t.Fatalf("the pair does not load: %v", err)
	}
}

func TestIdent(t *testing.T) {
	if got, want := addons.Ident("shop-db-2"), "shop_db_2"; got != want {
		t.Fatalf("Ident = %q, want %q", got, want)
	}
}
