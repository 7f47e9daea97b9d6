package nua

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// maxKeyLine bounds a public key line; real ones are well under 16 KiB.
const maxKeyLine = 16 << 10

// AddKey gives user an SSH public key, given as one authorized_keys line.
func (p *Platform) AddKey(user, name string, line []byte) (Key, error) {
	if err := ValidateUserName(user); err != nil {
		return Key{}, err
	}
	if err := ValidateKeyName(name); err != nil {
		return Key{}, err
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || len(line) > maxKeyLine || bytes.ContainsAny(line, "\n\r") {
		return Key{}, fmt.Errorf("%w: give exactly one public key line (the contents of a .pub file) on stdin", ErrInvalid)
	}
	pub, _, opts, _, err := gossh.ParseAuthorizedKey(line)
	if err != nil {
		return Key{}, fmt.Errorf("%w: not an SSH public key: %v", ErrInvalid, err)
	}
	if len(opts) > 0 {
		return Key{}, fmt.Errorf("%w: key options (%s) are not supported: give the bare key", ErrInvalid, strings.Join(opts, ","))
	}
	k := Key{
		User:        user,
		Name:        name,
		Fingerprint: gossh.FingerprintSHA256(pub),
		Line:        strings.TrimSpace(string(gossh.MarshalAuthorizedKey(pub))),
		Added:       time.Now().UTC(),
	}
	if err := p.cfg.Store.PutKey(k); err != nil {
		return Key{}, err
	}
	p.log.Info("key added", "user", user, "name", name, "fingerprint", k.Fingerprint)
	return k, nil
}

// RemoveKey revokes a user's key.
func (p *Platform) RemoveKey(user, name string) error {
	if err := ValidateUserName(user); err != nil {
		return err
	}
	if err := ValidateKeyName(name); err != nil {
		return err
	}
	return p.cfg.Store.DeleteKey(user, name)
}

// Keys lists the keys of user, or every user's when user is "".
func (p *Platform) Keys(user string) ([]Key, error) {
	if user != "" {
		if err := ValidateUserName(user); err != nil {
			return nil, err
		}
		if _, err := p.cfg.Store.User(user); err != nil {
			return nil, err
		}
	}
	return p.cfg.Store.Keys(user)
}
