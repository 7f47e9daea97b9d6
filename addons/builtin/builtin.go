// Package builtin lists the addon drivers nua ships, in the one place
// they are registered.
package builtin

import (
	"github.com/nua-paas/nua/addons"
	"github.com/nua-paas/nua/addons/mariadb"
	"github.com/nua-paas/nua/addons/postgres"
	"github.com/nua-paas/nua/addons/redis"
)

// Drivers returns the drivers of every kind, in the order of
// nua.AddonKinds, running their servers on h.
func Drivers(h addons.Host) []addons.Driver {
	return []addons.Driver{
		postgres.New(postgres.Config{Host: h}),
		redis.New(redis.Config{Host: h}),
		mariadb.New(mariadb.Config{Host: h}),
	}
}

// Dir is where the servers keep their data in nua's data dir.
func Dir(data string) string { return data + "/services" }
