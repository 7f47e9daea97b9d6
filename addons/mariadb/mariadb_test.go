package mariadb_test

import (
	"testing"

	"github.com/nua-paas/nua/addons/addonstest"
	"github.com/nua-paas/nua/addons/mariadb"
)

func TestSuite(t *testing.T) {
	d := mariadb.New(mariadb.Config{Host: addonstest.NewHost(t)})
	addonstest.Suite(t, d, addonstest.Kind{
		Write: []string{"-e", "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('hello-maria')"},
		Read:  []string{"-N", "-B", "-e", "SELECT v FROM t"},
		Want:  "hello-maria",
		Left:  d.Exists,
	})
}
