package postgres_test

import (
	"testing"

	"github.com/nua-paas/nua/addons/addonstest"
	"github.com/nua-paas/nua/addons/postgres"
)

func TestSuite(t *testing.T) {
	d := postgres.New(postgres.Config{Host: addonstest.NewHost(t)})
	addonstest.Suite(t, d, addonstest.Kind{
		Write: []string{"-c", "CREATE TABLE t (v text); INSERT INTO t VALUES ('hello-pg')"},
		Read:  []string{"-At", "-c", "SELECT v FROM t"},
		Want:  "hello-pg",
		Left:  d.Exists,
	})
}
