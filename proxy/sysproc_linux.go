package proxy

import "syscall"

// sysProcAttr puts Traefik in its own process group, so a Ctrl-C meant
// for nua does not reach it, and has the kernel kill it if nua dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
