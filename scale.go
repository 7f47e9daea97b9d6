package nua

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nua-paas/nua/internal/buildout"
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
		if !ok || !ValidProcessType(typ) {
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
	o := buildout.NewOutput(out)
	for _, typ := range slices.Sorted(maps.Keys(counts)) {
		app.Formation[typ] = counts[typ]
		if app.Stopped {
			continue
		}
		if err := p.cfg.Runner.Scale(ctx, app, rel, typ, counts[typ]); err != nil {
			return err
		}
		o.Step("Scaled %s to %s=%d", name, typ, counts[typ])
	}
	return p.cfg.Store.PutApp(app)
}
