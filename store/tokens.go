package store

import (
	"encoding/json"
	"fmt"

	"github.com/nua-paas/nua"
	bolt "go.etcd.io/bbolt"
)

// bucketTokens holds the API tokens by the SHA-256 of their secret.
var bucketTokens = []byte("tokens")

// Tokens implements nua.Store.
func (db *DB) Tokens() ([]nua.Token, error) {
	var ts []nua.Token
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).ForEach(func(_, v []byte) error {
			var t nua.Token
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			ts = append(ts, t)
			return nil
		})
	})
	return ts, err
}

// TokenByHash implements nua.Store.
func (db *DB) TokenByHash(hash string) (nua.Token, error) {
	var t nua.Token
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTokens).Get([]byte(hash))
		if v == nil {
			return fmt.Errorf("token: %w", nua.ErrNotFound)
		}
		return json.Unmarshal(v, &t)
	})
	return t, err
}

// PutToken implements nua.Store.
func (db *DB) PutToken(t nua.Token) error {
	if t.Hash == "" {
		return fmt.Errorf("%w: token %s has no hash", nua.ErrInvalid, t.ID)
	}
	v, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).Put([]byte(t.Hash), v)
	})
}
