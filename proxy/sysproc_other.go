//go:build !linux

package proxy

import "syscall"

// sysProcAttr puts Traefik in its own process group, so a Ctrl-C meant
// for nua does not reach it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
