package nua_test

import (
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/nua-paas/nua"
)

// scaleArg is TYPE=N written out again, apart from the code under test: a
// process type, then a decimal count (Go's syntax for an int allows a sign).
var scaleArg = regexp.MustCompile(`^([A-Za-z0-9_-]+)=([+-]?[0-9]+)$`)

// FuzzScaleArgs feeds whole ps:scale command lines and limits: ParseScale
// accepts exactly the lines whose every argument is TYPE=N with N from 0 to
// the limit and no type twice, and returns those counts; anything else is
// a user error (ErrInvalid) with no counts.
func FuzzScaleArgs(f *testing.F) {
	for _, s := range []struct {
		line string
		max  uint8
	}{
		{"web=1", 20}, {"web=2 worker=0", 20}, {"web=21", 20}, {"web=1 web=2", 20}, {"web=-1", 20},
		{"web=+3", 20}, {"web=007", 20}, {"w=99999999999999999999", 20}, {"=1", 20}, {"web=1=2", 20},
		{"web", 20}, {"", 20}, {"web=0", 0}, {"we.b=1", 20},
	} {
		f.Add(s.line, s.max)
	}
	f.Fuzz(func(t *testing.T, line string, maxN uint8) {
		args := strings.Fields(line)
		got, err := nua.ParseScale(args, int(maxN))
		want, ok := expectScale(args, int64(maxN))
		if !ok {
			if err == nil || got != nil || !errors.Is(err, nua.ErrInvalid) {
				t.Fatalf("ParseScale(%q, %d)=%v, %v; want an ErrInvalid and no counts", args, maxN, got, err)
			}
			return
		}
		if err != nil || len(got) != len(want) {
			t.Fatalf("ParseScale(%q, %d)=%v, %v; want %v", args, maxN, got, err, want)
		}
		for typ, n := range want {
			if c, ok := got[typ]; !ok || int64(c) != n {
				t.Fatalf("ParseScale(%q, %d)=%v; want %v", args, maxN, got, want)
			}
		}
	})
}

// expectScale is what ps:scale should make of args, and whether it should
// accept them at all.
func expectScale(args []string, maxN int64) (map[string]int64, bool) {
	if len(args) == 0 {
		return nil, false
	}
	want := map[string]int64{}
	for _, arg := range args {
		m := scaleArg.FindStringSubmatch(arg)
		if m == nil {
			return nil, false
		}
		n, ok := new(big.Int).SetString(m[2], 10)
		if !ok || n.Sign() < 0 || n.Cmp(big.NewInt(maxN)) > 0 {
			return nil, false
		}
		if _, dup := want[m[1]]; dup {
			return nil, false
		}
		want[m[1]] = n.Int64()
	}
	return want, true
}
