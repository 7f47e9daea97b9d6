package store

import (
	"encoding/json"
	"slices"

	"github.com/nua-paas/nua"
	bolt "go.etcd.io/bbolt"
)

// migrate1 brings a schema 1 store (no users) to schema 2 in one
// transaction: the user "admin" is made, every key becomes one of its
// keys, and it owns every app.
func migrate1(tx *bolt.Tx) error {
	if tx.Bucket(bucketUsers).Get([]byte(nua.AdminUser)) == nil {
		if err := putFirstAdmin(tx); err != nil {
			return err
		}
	}
	if err := migrateKeys(tx); err != nil {
		return err
	}
	return tx.Bucket(bucketApps).ForEach(func(app, _ []byte) error {
		b, err := tx.Bucket(bucketAccess).CreateBucketIfNotExists(app)
		if err != nil {
			return err
		}
		return b.Put([]byte(nua.AdminUser), []byte(roleOwner))
	})
}

// migrateKeys moves keys/<name> to keys/admin/<name>. The flat entries go
// first: a key named "admin" would clash with the admin's bucket.
func migrateKeys(tx *bolt.Tx) error {
	keys := tx.Bucket(bucketKeys)
	var old []nua.Key
	var names [][]byte
	err := keys.ForEach(func(k, v []byte) error {
		if v == nil { // a bucket: already a user's
			return nil
		}
		var key nua.Key
		if err := json.Unmarshal(v, &key); err != nil {
			return err
		}
		old, names = append(old, key), append(names, slices.Clone(k))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range names {
		if err := keys.Delete(k); err != nil {
			return err
		}
	}
	if len(old) == 0 {
		return nil
	}
	admin, err := keys.CreateBucketIfNotExists([]byte(nua.AdminUser))
	if err != nil {
		return err
	}
	for _, k := range old {
		k.User = nua.AdminUser
		if err := putJSON(admin, k.Name, k); err != nil {
			return err
		}
		if err := tx.Bucket(bucketFingerprints).Put([]byte(k.Fingerprint), []byte(k.User+"/"+k.Name)); err != nil {
			return err
		}
	}
	return nil
}
