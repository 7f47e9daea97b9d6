package store

import (
	"encoding/json"
	"fmt"

	"github.com/nua-paas/nua"
	bolt "go.etcd.io/bbolt"
)

// bucketAddons holds the addons by name; their URLs hold passwords, which
// is one reason the file is 0600.
var bucketAddons = []byte("addons")

// Addons implements nua.AddonStore.
func (db *DB) Addons() ([]nua.Addon, error) {
	var as []nua.Addon
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAddons).ForEach(func(_, v []byte) error {
			var a nua.Addon
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			as = append(as, a)
			return nil
		})
	})
	return as, err
}

// Addon implements nua.AddonStore.
func (db *DB) Addon(name string) (nua.Addon, error) {
	var a nua.Addon
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAddons).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("addon %s: %w", name, nua.ErrNotFound)
		}
		return json.Unmarshal(v, &a)
	})
	return a, err
}

// PutAddon implements nua.AddonStore.
func (db *DB) PutAddon(a nua.Addon) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAddons).Put([]byte(a.Name), v)
	})
}

// DeleteAddon implements nua.AddonStore.
func (db *DB) DeleteAddon(name string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAddons).Delete([]byte(name))
	})
}
