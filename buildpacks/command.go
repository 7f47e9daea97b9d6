package buildpacks

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"github.com/nua-paas/nua/runtime/sandbox"
)

// commandWaitDelay bounds how long Wait waits for a cancelled command's
// output pipes to close.
const commandWaitDelay = 5 * time.Second

// Command returns a command that runs name in b.Src with its stdout and
// stderr on b.Out.Indent(), in the app's sandbox: under the app's uid, in
// the build's cgroup. It runs in its own process group; when ctx ends the
// group and everything else in the build's cgroup are killed, so a tool's
// children do not outlive the build. Its environment is b.ToolEnv(); the
// caller may set another.
func (b *Build) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	argv := append([]string{name}, args...)
	if b.group != nil {
		cmd = b.group.Command(ctx, sandbox.Job{Argv: argv, Dir: b.Src, Env: b.ToolEnv()})
		if err := b.own(); err != nil {
			cmd.Err = fmt.Errorf("give the build's files to the app: %w", err)
		}
	} else {
		cmd = exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = b.Src, b.ToolEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	}
	out := b.Out.Indent()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = commandWaitDelay
	return cmd
}

// HostCommand is Command for a tool that must run as nua itself because
// it confines the app's code on its own terms: Nix (its builders run as
// nixbld users in Nix's sandbox) and the container engine's clients. It
// runs in its own process group, killed when ctx ends.
func (b *Build) HostCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = b.Src, b.ToolEnv()
	out := b.Out.Indent()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = commandWaitDelay
	return cmd
}
