package buildpacks

import (
	"io"

	"github.com/nua-paas/nua/internal/buildout"
)

// Output writes build output the way pushers know it; see buildout.Output.
type Output = buildout.Output

// Relay relays an external program's output into an Output.
type Relay = buildout.Relay

// NewOutput returns an Output writing to w; a nil w discards the output.
func NewOutput(w io.Writer) *Output { return buildout.NewOutput(w) }
