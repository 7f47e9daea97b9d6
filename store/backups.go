package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/nua-paas/nua"
)

var (
	bucketBackups         = []byte("backups")
	bucketBackupTargets   = []byte("backuptargets")
	bucketBackupSchedules = []byte("backupschedules")
)

var _ nua.BackupStore = (*DB)(nil)

// Backups implements nua.BackupStore: the keys are APP/ID, and IDs sort
// as the times they name.
func (db *DB) Backups(app string) ([]nua.Backup, error) {
	var out []nua.Backup
	prefix := []byte(app + "/")
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketBackups).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var b nua.Backup
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	return out, err
}

// PutBackup implements nua.BackupStore.
func (db *DB) PutBackup(b nua.Backup) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBackups).Put([]byte(b.App+"/"+b.ID), v)
	})
}

// DeleteBackup implements nua.BackupStore.
func (db *DB) DeleteBackup(app, id string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBackups).Delete([]byte(app + "/" + id))
	})
}

// BackupTargets implements nua.BackupStore.
func (db *DB) BackupTargets() ([]nua.BackupTarget, error) {
	return list[nua.BackupTarget](db, bucketBackupTargets)
}

// AddBackupTarget implements nua.BackupStore.
func (db *DB) AddBackupTarget(t nua.BackupTarget) error {
	return insert(db, bucketBackupTargets, t.Name, t, func() error { return fmt.Errorf("backup target %s: %w", t.Name, nua.ErrExists) })
}

// RemoveBackupTarget implements nua.BackupStore.
func (db *DB) RemoveBackupTarget(name string) error {
	return remove(db, bucketBackupTargets, name, func() error { return fmt.Errorf("backup target %s: %w", name, nua.ErrNotFound) })
}

// BackupSchedules implements nua.BackupStore.
func (db *DB) BackupSchedules() ([]nua.BackupSchedule, error) {
	return list[nua.BackupSchedule](db, bucketBackupSchedules)
}

// PutBackupSchedule implements nua.BackupStore.
func (db *DB) PutBackupSchedule(s nua.BackupSchedule) error {
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBackupSchedules).Put([]byte(s.App), v)
	})
}

// DeleteBackupSchedule implements nua.BackupStore.
func (db *DB) DeleteBackupSchedule(app string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBackupSchedules).Delete([]byte(app))
	})
}

// Snapshot implements nua.StateSnapshotter: the whole file as of one
// read transaction, consistent while the daemon runs.
func (db *DB) Snapshot(w io.Writer) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(w)
		return err
	})
}
