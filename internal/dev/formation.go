package dev

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nua-paas/nua"
	"github.com/nua-paas/nua/internal/excerpt"
	"github.com/nua-paas/nua/procman"
)

// Formation is how many instances of each process type run. The key "all"
// sets the count of every type the formation does not name.
type Formation map[string]int

// Formation and port limits.
const (
	// MaxInstances caps one type's count: the ports of a type step by one
	// per instance within its block of 100.
	MaxInstances = 100
	// PortStep is the port distance between two Procfile entries.
	PortStep = 100
	// DefaultPort is the base port when neither -p nor PORT gives one.
	DefaultPort = 5000
	// allTypes is the formation key for every type not named.
	allTypes = "all"
	// releaseType is the Procfile entry that only runs on deploys.
	releaseType = "release"
	// app names the processes for procman; nothing shows it.
	app = "dev"
)

var countRE = regexp.MustCompile(`^[0-9]+$`)

// ParseFormation parses the -m flag: "web=2,worker=1", "all=0,web=1".
// Types are checked against the Procfile by Plan.
func ParseFormation(s string) (Formation, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: -m %q: %s; give TYPE=N pairs separated by commas, e.g. -m web=2,worker=1",
			nua.ErrInvalid, excerpt.Of(s), fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(s) == "" {
		return nil, bad("empty")
	}
	f := Formation{}
	for item := range strings.SplitSeq(s, ",") {
		typ, count, ok := strings.Cut(strings.TrimSpace(item), "=")
		typ, count = strings.TrimSpace(typ), strings.TrimSpace(count)
		switch {
		case !ok:
			return nil, bad("%q is not TYPE=N", excerpt.Of(item))
		case !procman.ValidType(typ):
			return nil, bad("process type %q must match [A-Za-z0-9_-]+", excerpt.Of(typ))
		case strings.HasPrefix(count, "-"):
			return nil, bad("%s=%s: the count must not be negative", typ, excerpt.Of(count))
		case !countRE.MatchString(count):
			return nil, bad("%s=%s: the count must be a whole number", typ, excerpt.Of(count))
		}
		if _, dup := f[typ]; dup {
			return nil, bad("%s given twice", typ)
		}
		n, err := strconv.Atoi(count)
		if err != nil || n > MaxInstances {
			return nil, bad("%s=%s: at most %d instances per type", typ, excerpt.Of(count), MaxInstances)
		}
		f[typ] = n
	}
	return f, nil
}

// count returns how many instances of typ run; a nil Formation runs one of
// each.
func (f Formation) count(typ string) int {
	if f == nil {
		return 1
	}
	if n, ok := f[typ]; ok {
		return n
	}
	return f[allTypes] // 0 when "all" is not given
}

// Plan returns the processes to run, the foreman way: the Procfile's
// entries in order except release, each f.count times, with PORT = base +
// 100 × the entry's index + the instance number - 1 (web.1 5000, web.2
// 5001, worker.1 5100). The specs lack Dir, Env and Restart.
func Plan(pf procman.Procfile, f Formation, base int) ([]procman.Spec, error) {
	if base < 1 || base > 65535 {
		return nil, fmt.Errorf("%w: port %d: give a port between 1 and 65535", nua.ErrInvalid, base)
	}
	var types []string
	for _, e := range pf {
		if e.Type != releaseType {
			types = append(types, e.Type)
		}
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("%w: the Procfile has no process to run (release does not run under nua dev)", nua.ErrInvalid)
	}
	if err := checkTypes(f, types); err != nil {
		return nil, err
	}
	var specs []procman.Spec
	for i, typ := range types {
		cmd, _ := pf.Lookup(typ)
		for k := 1; k <= f.count(typ); k++ {
			port := base + PortStep*i + k - 1
			if port > 65535 {
				return nil, fmt.Errorf("%w: %s.%d would get port %d, above 65535: give a lower -p", nua.ErrInvalid, typ, k, port)
			}
			specs = append(specs, procman.Spec{App: app, Type: typ, Index: k, Command: cmd, Port: port})
		}
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: the formation runs no process: give a type a count above 0", nua.ErrInvalid)
	}
	return specs, nil
}

// checkTypes reports a formation type that is not a runnable Procfile type.
func checkTypes(f Formation, types []string) error {
	for _, typ := range slices.Sorted(maps.Keys(f)) {
		switch {
		case typ == allTypes || slices.Contains(types, typ):
		case typ == releaseType:
			return fmt.Errorf("%w: -m %s: release runs on deploys only, not under nua dev", nua.ErrInvalid, typ)
		default:
			return fmt.Errorf("%w: -m %s: no such process type in the Procfile (it has %s)",
				nua.ErrInvalid, typ, strings.Join(types, ", "))
		}
	}
	return nil
}
