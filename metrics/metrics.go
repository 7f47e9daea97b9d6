// Package metrics serves the apps' process figures for Prometheus: per
// instance memory, CPU time, restarts, memory-limit kills, uptime and
// state, read from the sandbox's cgroups at each scrape, beside nua's own
// Go runtime and process figures.
package metrics

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nua-paas/nua"
)

// Source is what the figures come from; *nua.Platform is one.
type Source interface {
	Apps() ([]nua.App, error)
	Ps(app string) ([]nua.ProcessStatus, error)
}

var (
	labels  = []string{"app", "process"}
	descUp  = prometheus.NewDesc("nua_process_up", "1 while the instance runs, 0 while it is starting again, crashed or stopped.", labels, nil)
	descMem = prometheus.NewDesc("nua_process_memory_bytes", "Memory the instance's cgroup uses.", labels, nil)
	descCPU = prometheus.NewDesc("nua_process_cpu_seconds_total", "CPU time of the instance's current run.", labels, nil)
	descRst = prometheus.NewDesc("nua_process_restarts_total", "Restarts of the instance since its release started.", labels, nil)
	descOOM = prometheus.NewDesc("nua_process_oom_kills_total", "Runs of the instance killed for going over their memory limit.", labels, nil)
	descAge = prometheus.NewDesc("nua_process_uptime_seconds", "Time since the instance entered its state.", labels, nil)
	descRel = prometheus.NewDesc("nua_app_release", "The app's current release version.", []string{"app"}, nil)
	descErr = prometheus.NewDesc("nua_scrape_errors", "Apps whose processes could not be read in this scrape.", nil, nil)
)

// collector reads the figures at each scrape.
type collector struct{ src Source }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descMem, descCPU, descRst, descOOM, descAge, descRel, descErr} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	apps, err := c.src.Apps()
	failed := 0
	if err != nil {
		failed++
	}
	for _, a := range apps {
		ch <- prometheus.MustNewConstMetric(descRel, prometheus.GaugeValue, float64(a.Release), a.Name)
		st, err := c.src.Ps(a.Name)
		if err != nil {
			failed++
			continue
		}
		for _, s := range st {
			up := 0.0
			if s.State == "up" {
				up = 1
			}
			for _, m := range []struct {
				d *prometheus.Desc
				t prometheus.ValueType
				v float64
			}{
				{descUp, prometheus.GaugeValue, up},
				{descMem, prometheus.GaugeValue, float64(s.Memory)},
				{descCPU, prometheus.CounterValue, s.CPU.Seconds()},
				{descRst, prometheus.CounterValue, float64(s.Restarts)},
				{descOOM, prometheus.CounterValue, float64(s.OOMKills)},
				{descAge, prometheus.GaugeValue, time.Since(s.Since).Seconds()},
			} {
				ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v, a.Name, s.Name)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descErr, prometheus.GaugeValue, float64(failed))
}

// Handler serves the figures of src and of this process in Prometheus's
// text format.
func Handler(src Source) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{src}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Timeout: 10 * time.Second}))
	return mux
}

// CheckAddr accepts a listen address on a loopback IP only: the figures
// name every app, so they stay on the server (a Prometheus elsewhere
// reaches them through an SSH tunnel or a proxy of the operator's).
func CheckAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return &net.AddrError{Err: "not a loopback address: the figures name every app (use 127.0.0.1:PORT)", Addr: addr}
}

// Serve serves Handler(src) on ln until it is closed.
func Serve(ln net.Listener, src Source) error {
	srv := &http.Server{Handler: Handler(src), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
