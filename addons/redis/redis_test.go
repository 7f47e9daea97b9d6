package redis_test

import (
	"testing"

	"github.com/nua-paas/nua/addons/addonstest"
	"github.com/nua-paas/nua/addons/redis"
)

func TestSuite(t *testing.T) {
	d := redis.New(redis.Config{Host: addonstest.NewHost(t)})
	addonstest.Suite(t, d, addonstest.Kind{
		Write: []string{"SET", "greeting", "hello-redis"},
		Read:  []string{"GET", "greeting"},
		Want:  "hello-redis",
		Left:  d.Left,
	})
}
