package store

import (
	"encoding/binary"
	"encoding/json"

	"github.com/nua-paas/nua"
	bolt "go.etcd.io/bbolt"
)

// trail returns the bucket of the app's trail (the server's for ""), nil
// when it has none and create is false.
func trail(tx *bolt.Tx, app string, create bool) (*bolt.Bucket, error) {
	events := tx.Bucket(bucketEvents)
	if app == "" {
		return events.Bucket(bucketEventServer), nil
	}
	apps := events.Bucket(bucketEventApps)
	if !create {
		return apps.Bucket([]byte(app)), nil
	}
	return apps.CreateBucketIfNotExists([]byte(app))
}

// AddEvent implements nua.Store. The trail's sequence numbers its events,
// so the oldest kept one is the first key and trimming stops at the
// first number to keep.
func (db *DB) AddEvent(app string, e nua.Event) error {
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := trail(tx, app, true)
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), v); err != nil {
			return err
		}
		keep := uint64(max(db.keepEvents, 1))
		if seq <= keep {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= seq-keep; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Events implements nua.Store.
func (db *DB) Events(app string, n int) ([]nua.Event, error) {
	var evs []nua.Event
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := trail(tx, app, false)
		if err != nil || b == nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(evs) < n; k, v = c.Prev() {
			var e nua.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			evs = append(evs, e)
		}
		return nil
	})
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	return evs, err
}

// EventApps implements nua.Store.
func (db *DB) EventApps() ([]string, error) {
	var apps []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvents).Bucket(bucketEventApps).ForEachBucket(func(k []byte) error {
			apps = append(apps, string(k))
			return nil
		})
	})
	return apps, err
}
