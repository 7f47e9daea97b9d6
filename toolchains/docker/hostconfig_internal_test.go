package docker

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestHostConfig checks the host's side of each kind of container as the
// engine receives it (the JSON body's HostConfig): the limits, no new
// privileges, no capability, the port on 127.0.0.1 only, and nothing
// else: no bind, mount, device, privilege or host namespace.
func TestHostConfig(t *testing.T) {
	m := Manifest{Host: "unix:///x", Image: "sha256:abc", Commands: map[string]string{"worker": "run worker"}}
	locked := map[string]any{
		"SecurityOpt": []any{"no-new-privileges"},
		"CapDrop":     []any{"ALL"},
		"Init":        true,
	}
	with := func(kv map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range locked {
			out[k] = v
		}
		for k, v := range kv {
			out[k] = v
		}
		return out
	}
	defaults := map[string]any{"Memory": 536870912.0, "MemorySwap": 536870912.0, "NanoCpus": 1e9, "PidsLimit": 256.0}
	tests := []struct {
		name string
		cfg  RunConfig
		want map[string]any
	}{
		{
			name: "web with the default limits",
			cfg:  RunConfig{Type: "web", Env: []string{"PORT=5005", "PS=web.1"}},
			want: with(map[string]any{
				"Memory": 536870912.0, "MemorySwap": 536870912.0, "NanoCpus": 1e9, "PidsLimit": 256.0,
				"PortBindings": map[string]any{"5005/tcp": []any{map[string]any{"HostIp": "127.0.0.1", "HostPort": "5005"}}},
			}),
		},
		{
			name: "worker with limits of its own",
			cfg:  RunConfig{Type: "worker", Env: []string{"PS=worker.1"}, Limits: Limits{Memory: 256 << 20, CPU: 0.5, Tasks: 64}},
			want: with(map[string]any{"Memory": 268435456.0, "MemorySwap": 268435456.0, "NanoCpus": 5e8, "PidsLimit": 64.0}),
		},
		{
			name: "one-off with a terminal keeps the defaults",
			cfg:  RunConfig{Type: "run", Args: []string{"sh"}, Env: []string{"PS=run.1"}, Stdin: strings.NewReader(""), TTY: true},
			want: with(defaults),
		},
		{
			name: "only the memory set",
			cfg:  RunConfig{Type: "worker", Limits: Limits{Memory: 1 << 30}},
			want: with(map[string]any{"Memory": 1073741824.0, "MemorySwap": 1073741824.0, "NanoCpus": 1e9, "PidsLimit": 256.0}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(containerSpecFor(m, tt.cfg))
			if err != nil {
				t.Fatal(err)
			}
			var body struct{ HostConfig map[string]any }
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(body.HostConfig, tt.want) {
				t.Fatalf("HostConfig =\n%v\nwant\n%v", body.HostConfig, tt.want)
			}
		})
	}
}

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		name string
		l    Limits
		err  string
	}{
		{name: "zero takes the defaults", l: Limits{}},
		{name: "a dyno", l: Limits{Memory: 512 << 20, CPU: 1, Tasks: 256}},
		{name: "too little memory", l: Limits{Memory: 1 << 20}, err: "memory limit 1048576 bytes: give at least 6291456 (6 MiB)"},
		{name: "negative memory", l: Limits{Memory: -1}, err: "memory limit -1 bytes"},
		{name: "negative CPU", l: Limits{CPU: -0.5}, err: "CPU limit -0.5: give a number of cores above 0"},
		{name: "negative tasks", l: Limits{Tasks: -3}, err: "tasks limit: give a number of processes above 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.Validate()
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestLimitsArgs(t *testing.T) {
	got := Limits{Memory: 128 << 20, CPU: 0.25}.Args()
	if want := []string{"--memory=134217728", "--cpu=0.25", "--tasks=256"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Args() = %q, want %q", got, want)
	}
}
