package nua

import (
	"context"
	"slices"
)

// BackendStatus says whether one build backend can build on this server.
type BackendStatus struct {
	Name string // "native", "docker", "nix"
	Err  error  // nil when available, else what is missing
}

// Backends reports each build backend's availability, native first.
func (p *Platform) Backends(ctx context.Context) []BackendStatus {
	checks := p.cfg.Builder.Check(ctx)
	var out []BackendStatus
	for _, name := range p.cfg.Builder.Backends() {
		out = append(out, BackendStatus{Name: name, Err: checks[name]})
	}
	slices.SortStableFunc(out, func(a, b BackendStatus) int {
		if a.Name == "native" {
			return -1
		}
		if b.Name == "native" {
			return 1
		}
		return 0
	})
	return out
}
