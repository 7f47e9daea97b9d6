package metrics_test

import (
	"testing"

	"github.com/nua-paas/nua/metrics"
)

func TestCheckAddr(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:9180": true, "[::1]:9180": true, "localhost:9180": true, "127.0.0.2:0": true,
		"0.0.0.0:9180": false, ":9180": false, "192.0.2.1:9180": false, "example.org:9180": false, "127.0.0.1": false,
	} {
		if err := metrics.CheckAddr(addr); (err == nil) != ok {
			t.Errorf("CheckAddr(%q) = %v, want ok=%t", addr, err, ok)
		}
	}
}
