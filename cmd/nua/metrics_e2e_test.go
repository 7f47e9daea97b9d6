package main_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nua-paas/nua/internal/testutil"
)

// TestE2EMetrics pushes the Go sample, makes it allocate, and sees its
// memory grow in `ps` and on the Prometheus endpoint, with its CPU share,
// restarts and the app totals in apps:info.
func TestE2EMetrics(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	s := testutil.StartServer(t, "--metrics-addr", addr)
	mustPush(t, s, testutil.NewRepo(t, "goapp"), "goapp")

	psMemory := func() float64 {
		ps, _ := s.SSH(nil, "ps", "goapp")
		m, err := strconv.ParseFloat(strings.TrimSuffix(psField(t, ps, "web.1", 7), "M"), 64)
		if err != nil {
			t.Fatalf("ps MEMORY of web.1: %v\n%s", err, ps)
		}
		return m
	}
	before := psMemory()
	if status, body := s.Get("goapp", "/alloc/64"); status != 200 {
		t.Fatalf("GET /alloc/64 = %d %q", status, body)
	}
	testutil.Eventually(t, 20*time.Second, "ps MEMORY up by 60 MiB", func() (bool, string) {
		m := psMemory()
		return m >= before+60, fmt.Sprintf("%.1fM, %.1fM before", m, before)
	})
	ps, _ := s.SSH(nil, "ps", "goapp")
	if cpu := psField(t, ps, "web.1", 8); !regexp.MustCompile(`^\d+\.\d%$`).MatchString(cpu) {
		t.Errorf("ps CPU of web.1 = %q, want a share:\n%s", cpu, ps)
	}
	info, _ := s.SSH(nil, "apps:info", "goapp")
	if !regexp.MustCompile(`Processes: 1 up of 1, \d+\.\dM memory, .* CPU time, 0 restarts`).MatchString(info) {
		t.Errorf("apps:info lacks the process totals:\n%s", info)
	}

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	m := regexp.MustCompile(`(?m)^nua_process_memory_bytes\{app="goapp",process="web.1"\} (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("/metrics lacks web.1's memory:\n%s", text)
	}
	if v, _ := strconv.ParseFloat(m[1], 64); v < (before+60)*(1<<20) {
		t.Errorf("/metrics memory of web.1 = %s, want at least %.0f MiB", m[1], before+60)
	}
	for _, want := range []string{
		`nua_process_up{app="goapp",process="web.1"} 1`,
		`nua_process_restarts_total{app="goapp",process="web.1"} 0`,
		`nua_app_release{app="goapp"} 1`,
		`nua_scrape_errors 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
