package store

import (
	"encoding/json"
	"fmt"

	"github.com/nua-paas/nua"
	bolt "go.etcd.io/bbolt"
)

var bucketNotifications = []byte("notifications")

var _ nua.NotificationStore = (*DB)(nil)

// Notifications implements nua.NotificationStore.
func (db *DB) Notifications() ([]nua.Notification, error) {
	var ns []nua.Notification
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketNotifications).ForEach(func(_, v []byte) error {
			var n nua.Notification
			if err := json.Unmarshal(v, &n); err != nil {
				return err
			}
			ns = append(ns, n)
			return nil
		})
	})
	return ns, err
}

// AddNotification implements nua.NotificationStore.
func (db *DB) AddNotification(n nua.Notification) error {
	v, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNotifications)
		if b.Get([]byte(n.Name)) != nil {
			return fmt.Errorf("notification %s: %w", n.Name, nua.ErrExists)
		}
		return b.Put([]byte(n.Name), v)
	})
}

// RemoveNotification implements nua.NotificationStore.
func (db *DB) RemoveNotification(name string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNotifications)
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("notification %s: %w", name, nua.ErrNotFound)
		}
		return b.Delete([]byte(name))
	})
}
