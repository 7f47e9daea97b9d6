package nua

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nua-paas/nua/internal/bytesize"

	"github.com/nua-paas/nua/internal/buildout"
)

// Bounds of the limits resources:set accepts.
const (
	MinMemory = 16 << 20
	MaxMemory = 1 << 40
	MinTasks  = 16
	MaxTasks  = 1 << 20
	MaxCPU    = 1024
)

// ParseLimits parses resources:set arguments, KEY=VALUE each: memory=512M
// (K, M, G suffixes; bytes without), cpu=1.5 (cores), tasks=256
// (processes and threads); VALUE "default" goes back to the default.
// Nothing is returned unless every argument is valid.
func ParseLimits(args []string) (set Limits, reset []string, err error) {
	if len(args) == 0 {
		return Limits{}, nil, fmt.Errorf("%w: give memory=SIZE, cpu=CORES or tasks=N, e.g. memory=512M cpu=1 tasks=256", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, arg := range args {
		k, v, ok := strings.Cut(arg, "=")
		if !ok || (k != "memory" && k != "cpu" && k != "tasks") {
			return Limits{}, nil, fmt.Errorf("%w: %q is not memory=SIZE, cpu=CORES or tasks=N", ErrInvalid, clip(arg))
		}
		if seen[k] {
			return Limits{}, nil, fmt.Errorf("%w: %s is given twice", ErrInvalid, k)
		}
		seen[k] = true
		if v == "default" {
			reset = append(reset, k)
			continue
		}
		switch k {
		case "memory":
			set.Memory, err = parseSize(v)
		case "cpu":
			set.CPU, err = parseCPU(v)
		case "tasks":
			set.Tasks, err = parseTasks(v)
		}
		if err != nil {
			return Limits{}, nil, err
		}
	}
	return set, reset, nil
}

func parseSize(v string) (int64, error) {
	n, err := bytesize.Parse(v)
	if err != nil || n < MinMemory || n > MaxMemory {
		return 0, fmt.Errorf("%w: memory=%s: give a size from 16M to 1024G, e.g. 512M", ErrInvalid, clip(v))
	}
	return n, nil
}

func parseCPU(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0.01 && f <= MaxCPU) {
		return 0, fmt.Errorf("%w: cpu=%s: give cores from 0.01 to %d, e.g. 0.5", ErrInvalid, clip(v), MaxCPU)
	}
	return f, nil
}

func parseTasks(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < MinTasks || n > MaxTasks {
		return 0, fmt.Errorf("%w: tasks=%s: give a count from %d to %d", ErrInvalid, clip(v), MinTasks, MaxTasks)
	}
	return n, nil
}

// With returns l with set's non-zero fields over it: the limits in force
// are the defaults With what resources:set chose.
func (l Limits) With(set Limits) Limits { return l.apply(set, nil) }

// apply returns l with set's non-zero fields over it and reset's fields
// back to zero (the default).
func (l Limits) apply(set Limits, reset []string) Limits {
	if set.Memory > 0 {
		l.Memory = set.Memory
	}
	if set.CPU > 0 {
		l.CPU = set.CPU
	}
	if set.Tasks > 0 {
		l.Tasks = set.Tasks
	}
	for _, k := range reset {
		switch k {
		case "memory":
			l.Memory = 0
		case "cpu":
			l.CPU = 0
		case "tasks":
			l.Tasks = 0
		}
	}
	return l
}

// ResourceRow is one line of `resources APP`: the limits each instance of
// a process type runs with.
type ResourceRow struct {
	Type   string
	Limits Limits // the limits in force, defaults filled in
	Set    Limits // what resources:set chose (0 = the default)
}

// Resources lists the limits of each of the app's process types, plus
// those set for types it does not have (yet).
func (p *Platform) Resources(name string) ([]ResourceRow, error) {
	app, err := p.App(name)
	if err != nil {
		return nil, err
	}
	types := slices.Collect(maps.Keys(app.Resources))
	if rel, err := p.currentRelease(app); err == nil {
		types = append(types, processTypes(rel)...)
	}
	slices.Sort(types)
	var rows []ResourceRow
	for _, typ := range slices.Compact(types) {
		rows = append(rows, ResourceRow{Type: typ, Set: app.Resources[typ], Limits: p.cfg.Monitor.Limits(app, typ)})
	}
	return rows, nil
}

// SetResources changes the limits of process type typ and restarts its
// instances (web with no downtime) so they apply.
func (p *Platform) SetResources(ctx context.Context, name, typ string, set Limits, reset []string, out io.Writer) error {
	if !ValidProcessType(typ) {
		return fmt.Errorf("%w: process type %q: use letters, digits, dashes and underscores", ErrInvalid, clip(typ))
	}
	app, unlock, err := p.lockedApp(name)
	if err != nil {
		return err
	}
	defer unlock()
	l := app.Resources[typ].apply(set, reset)
	if app.Resources == nil {
		app.Resources = map[string]Limits{}
	}
	if l == (Limits{}) {
		delete(app.Resources, typ)
	} else {
		app.Resources[typ] = l
	}
	if err := p.cfg.Store.PutApp(app); err != nil {
		return err
	}
	o := buildout.NewOutput(out)
	o.Step("%s %s: %s", name, typ, p.cfg.Monitor.Limits(app, typ))
	if app.Release == 0 || app.Stopped || !p.runs(name, typ) {
		return nil
	}
	rel, err := p.runnable(app, typ)
	if err != nil {
		return err
	}
	o.Step("Restarting %s %s", name, typ)
	return p.cfg.Runner.Launch(ctx, app, rel, typ)
}

// runs reports whether instances of the app's process type typ run.
func (p *Platform) runs(app, typ string) bool {
	for _, st := range p.cfg.Monitor.Ps(app) {
		if t, _, _ := strings.Cut(st.Name, "."); t == typ {
			return true
		}
	}
	return false
}

// String is the limits as resources:set takes them: "memory=512M cpu=1
// tasks=256"; a zero field shows as "none".
func (l Limits) String() string {
	parts := []string{"memory=none", "cpu=none", "tasks=none"}
	if l.Memory > 0 {
		parts[0] = "memory=" + bytesize.Format(l.Memory)
	}
	if l.CPU > 0 {
		parts[1] = "cpu=" + strconv.FormatFloat(l.CPU, 'f', -1, 64)
	}
	if l.Tasks > 0 {
		parts[2] = "tasks=" + strconv.Itoa(l.Tasks)
	}
	return strings.Join(parts, " ")
}
