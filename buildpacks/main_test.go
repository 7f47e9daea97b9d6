package buildpacks_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nua-paas/nua/runtime/sandbox"
)

// The test binary is the sandbox's helper, as nua's binary is the daemon's.
func TestMain(m *testing.M) {
	sandbox.ServeHelper()
	os.Exit(m.Run())
}

// testSandbox returns the sandbox a build runs in as the daemon runs it:
// confined as root (the test's temp dirs open to pass through), nil
// otherwise.
func testSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m := sandbox.New(sandbox.Config{Helper: exe, Cgroup: "nua-buildpacks-test"})
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(t.TempDir()), 0o711); err != nil {
		t.Fatal(err)
	}
	return m.For("buildpacks-test", sandbox.DefaultUIDBase+999_100)
}
