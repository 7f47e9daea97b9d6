package main

import (
	"testing"

	"github.com/nua-paas/nua/internal/commands"
)

// TestLocalCommandsHaveRules walks the local door's tree with its own
// commands (server, dev, build...): each has an authorisation rule.
func TestLocalCommandsHaveRules(t *testing.T) {
	if missing := commands.Unruled(commands.New(localOptions()).Commands); len(missing) > 0 {
		t.Fatalf("commands with no rule in internal/commands/rules.go: %q", missing)
	}
}
