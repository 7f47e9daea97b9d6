package testutil

import (
	"encoding/json"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	gossh "golang.org/x/crypto/ssh"
)

// OldKey is a key as schema 1 of nua.db kept it: a name, no user.
type OldKey struct {
	Name string
	Line string // authorized_keys line
}

// WriteStoreV1 writes a nua.db at path in schema 1, the layout before
// users (store.go's bucket tree of then): apps with no owner, keys by
// name only.
func WriteStoreV1(tb testing.TB, path string, apps []string, keys []OldKey) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	must(tb, err)
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := map[string]*bolt.Bucket{}
		for _, name := range []string{"meta", "apps", "releases", "keys", "fingerprints"} {
			if b[name], err = tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		if err := b["meta"].Put([]byte("schema"), []byte("1")); err != nil {
			return err
		}
		for i, app := range apps {
			v, _ := json.Marshal(map[string]any{"name": app, "created": time.Now().UTC(), "release": 0, "uid": i + 1})
			if err := b["apps"].Put([]byte(app), v); err != nil {
				return err
			}
		}
		for _, k := range keys {
			pub, _, _, _, err := gossh.ParseAuthorizedKey([]byte(k.Line))
			if err != nil {
				return err
			}
			fp := gossh.FingerprintSHA256(pub)
			v, _ := json.Marshal(map[string]any{"name": k.Name, "fingerprint": fp, "line": k.Line, "added": time.Now().UTC()})
			if err := b["keys"].Put([]byte(k.Name), v); err != nil {
				return err
			}
			if err := b["fingerprints"].Put([]byte(fp), []byte(k.Name)); err != nil {
				return err
			}
		}
		return nil
	})
	must(tb, err)
}
