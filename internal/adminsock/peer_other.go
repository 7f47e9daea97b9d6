//go:build !linux

package adminsock

import (
	"errors"
	"net"
)

// peerUID is known on Linux only; elsewhere every peer is refused.
func peerUID(net.Conn) (int, error) {
	return -1, errors.New("peer credentials: not supported on this system")
}
