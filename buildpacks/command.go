package buildpacks

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// commandWaitDelay bounds how long Wait waits for a cancelled command's
// output pipes to close.
const commandWaitDelay = 5 * time.Second

// Command returns a command that runs name in b.Src with its stdout and
// stderr on b.Out.Indent(). It runs in its own process group, and the whole
// group is killed when ctx ends, so a tool's children do not outlive the
// build. Its environment is b.ToolEnv(); the caller may set another.
func (b *Build) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = b.Src
	cmd.Env = b.ToolEnv()
	out := b.Out.Indent()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = commandWaitDelay
	return cmd
}
