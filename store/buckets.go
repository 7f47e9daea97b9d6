package store

import (
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// list returns the JSON values of a top bucket, in key order.
func list[T any](db *DB, bucket []byte) ([]T, error) {
	var out []T
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(_, v []byte) error {
			var item T
			if err := json.Unmarshal(v, &item); err != nil {
				return err
			}
			out = append(out, item)
			return nil
		})
	})
	return out, err
}

// insert puts v as JSON under key in a top bucket; if the key is taken it
// returns taken() instead.
func insert(db *DB, bucket []byte, key string, v any, taken func() error) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucket)
		if bk.Get([]byte(key)) != nil {
			return taken()
		}
		return bk.Put([]byte(key), b)
	})
}

// remove deletes key from a top bucket; if it is not there it returns
// missing() instead.
func remove(db *DB, bucket []byte, key string, missing func() error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucket)
		if bk.Get([]byte(key)) == nil {
			return missing()
		}
		return bk.Delete([]byte(key))
	})
}
