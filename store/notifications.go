package store

import (
	"fmt"

	"github.com/nua-paas/nua"
)

var bucketNotifications = []byte("notifications")

var _ nua.NotificationStore = (*DB)(nil)

// Notifications implements nua.NotificationStore.
func (db *DB) Notifications() ([]nua.Notification, error) {
	return list[nua.Notification](db, bucketNotifications)
}

// AddNotification implements nua.NotificationStore.
func (db *DB) AddNotification(n nua.Notification) error {
	return insert(db, bucketNotifications, n.Name, n, func() error { return fmt.Errorf("notification %s: %w", n.Name, nua.ErrExists) })
}

// RemoveNotification implements nua.NotificationStore.
func (db *DB) RemoveNotification(name string) error {
	return remove(db, bucketNotifications, name, func() error { return fmt.Errorf("notification %s: %w", name, nua.ErrNotFound) })
}
