package testutil

import (
	"bytes"
	"os"
	"path/filepath"
)

// NewKey makes an ed25519 key pair in the clients' ~/.ssh and returns the
// private key's path.
func (s *Server) NewKey(name string) string {
	s.tb.Helper()
	key := filepath.Join(s.Home, ".ssh", name)
	Run(s.tb, "", nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e-"+name, "-f", key)
	return key
}

// AddKey gives user the public half of key, as keys:add through the admin
// socket.
func (s *Server) AddKey(user, name, key string) {
	s.tb.Helper()
	pub, err := os.ReadFile(key + ".pub")
	must(s.tb, err)
	if out, code := s.CLI(bytes.NewReader(pub), "keys:add", user, name); code != 0 {
		s.tb.Fatalf("keys:add %s %s: exit %d: %s", user, name, code, out)
	}
}

// AddUser adds a user (an admin if admin is set) with a new key named
// NAME-key, through the admin socket, and returns the key's path.
func (s *Server) AddUser(name string, admin bool) string {
	s.tb.Helper()
	args := []string{"users:add", name}
	if admin {
		args = append(args, "--admin")
	}
	if out, code := s.CLI(nil, args...); code != 0 {
		s.tb.Fatalf("users:add %s: exit %d: %s", name, code, out)
	}
	key := s.NewKey(name)
	s.AddKey(name, name+"-key", key)
	return key
}
