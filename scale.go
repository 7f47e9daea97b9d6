package nua

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nua-paas/nua/buildpacks"
	"github.com/nua-paas/nua/procman"
)

// DefaultMaxScale caps the instances of one process type.
const DefaultMaxScale = 20

// ParseScale parses ps:scale arguments, TYPE=N each. Nothing is returned
// unless every argument is valid.
func ParseScale(args []string, maxN int) (map[string]int, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: give TYPE=N, e.g. web=2 worker=1", ErrInvalid)
	}
	counts := make(map[string]int, len(args))
	for _, arg := range args {
		typ, num, ok := strings.Cut(arg, "=")
		if !ok || !procman.ValidType(typ) {
			return nil, fmt.Errorf("%w: %q is not TYPE=N (e.g. web=2)", ErrInvalid, clip(arg))
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || n > maxN {
			return nil, fmt.Errorf("%w: %s=%s: give a count from 0 to %d", ErrInvalid, typ, clip(num), maxN)
		}
		if _, dup := counts[typ]; dup {
			return nil, fmt.Errorf("%w: %s is given twice", ErrInvalid, typ)
		}
		counts[typ] = n
	}
	return counts, nil
}

// Scale sets how many instances of each process type run, starting or
// stopping only the difference; new web instances get traffic once they
// pass their checks. The formation is kept only if every change worked.
func (p *Platform) Scale(ctx context.Context, name string, counts map[string]int, out io.Writer) error {
	app, rel, unlock, err := p.lockedRelease(name, "")
	if err != nil {
		return err
	}
	defer unlock()
	for typ := range counts {
		if _, err := p.runnable(app, typ); err != nil {
			return err
		}
	}
	if app.Formation == nil {
		app.Formation = map[string]int{}
	}
	o := buildpacks.NewOutput(out)
	for _, typ := range slices.Sorted(maps.Keys(counts)) {
		app.Formation[typ] = counts[typ]
		if app.Stopped {
			continue
		}
		if err := p.scaleType(ctx, app, rel, typ, counts[typ]); err != nil {
			return err
		}
		o.Step("Scaled %s to %s=%d", name, typ, counts[typ])
	}
	return p.cfg.Store.PutApp(app)
}

// scaleType brings the running instances of typ to n.
func (p *Platform) scaleType(ctx context.Context, app App, rel Release, typ string, n int) error {
	cur := p.instances(app.Name, typ)
	switch {
	case n > len(cur):
		env := p.processEnv(app, rel)
		var added []instance
		var err error
		if typ == "web" {
			added, err = p.startHealthy(ctx, app, rel, env, len(cur)+1, n)
		} else {
			added, err = p.startInstances(app, rel, env, typ, len(cur)+1, n)
		}
		if err != nil {
			return err
		}
		all := append(cur, added...)
		if typ == "web" {
			if err := p.route(ctx, app.Name, all); err != nil {
				p.stopInstances(ctx, app.Name, added)
				return err
			}
		}
		p.replace(app.Name, typ, all)
	case n < len(cur):
		keep, drop := cur[:n], cur[n:]
		if typ == "web" {
			if err := p.route(ctx, app.Name, keep); err != nil {
				return err
			}
		}
		p.replace(app.Name, typ, keep)
		p.retire(app.Name, drop)
	}
	return nil
}
