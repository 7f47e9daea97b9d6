// Package store keeps nua's state in a bbolt file.
//
// The bucket tree:
//
//	meta/                    (its bucket sequence numbers the apps' uids)
//	  schema                 "2"
//	apps/
//	  <app>                  JSON nua.App
//	releases/
//	  <app>/                 one bucket per app
//	    <version uint64 BE>  JSON nua.Release
//	users/
//	  <name>                 JSON nua.User
//	keys/
//	  <user>/                one bucket per user
//	    <name>               JSON nua.Key
//	fingerprints/
//	  <SHA256:...>           "<user>/<key name>"
//	tokens/
//	  <hex SHA-256 of secret> JSON nua.Token; the secret itself is never stored
//	builders/
//	  <image>                JSON nua.TrustedBuilder: a CNB builder image
//	                         the operator trusts (builders:trust)
//	notifications/
//	  <name>                 JSON nua.Notification: a webhook or an email
//	                         address told of deploys, crashes, ...
//	access/
//	  <app>/                 one bucket per app with an owner or collaborators
//	    <user>               "owner" or "collaborator"
//	addons/
//	  <name>                 JSON nua.Addon (its URL holds the password)
//	backups/
//	  <app>/<id>             JSON nua.Backup: where its archive went, how it fared
//	backuptargets/
//	  <name>                 JSON nua.BackupTarget (its secret key included)
//	backupschedules/
//	  <app>                  JSON nua.BackupSchedule: when the daemon backs it up
//	events/
//	  apps/
//	    <app>/               an app's trail; kept when the app is destroyed
//	      <seq uint64 BE>    JSON nua.Event (its sequence numbers the events)
//	  server/
//	    <seq uint64 BE>      JSON nua.Event: users, keys, refused attempts on no app
//
// Schema 1 (before users) had keys/<name> → JSON key and fingerprints →
// key name; Open migrates it: the keys go to the user "admin", who owns
// every app.
//
// A bucket added without changing what older ones hold is created on open
// and needs no new schema version.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nua-paas/nua"
	bolt "go.etcd.io/bbolt"
)

// schemaVersion is written on creation and checked on open; older
// schemas are migrated.
const schemaVersion = "2"

var (
	bucketMeta         = []byte("meta")
	bucketApps         = []byte("apps")
	bucketReleases     = []byte("releases")
	bucketUsers        = []byte("users")
	bucketKeys         = []byte("keys")
	bucketFingerprints = []byte("fingerprints")
	bucketBuilders     = []byte("builders")
	bucketAccess       = []byte("access")
	bucketEvents       = []byte("events")
	bucketEventApps    = []byte("apps")
	bucketEventServer  = []byte("server")
	keySchema          = []byte("schema")
)

// topBuckets are the buckets at the root of the file.
var topBuckets = [][]byte{bucketMeta, bucketApps, bucketReleases, bucketUsers, bucketKeys, bucketFingerprints, bucketBuilders, bucketAccess, bucketEvents, bucketTokens, bucketNotifications, bucketAddons, bucketBackups, bucketBackupTargets, bucketBackupSchedules}

// DB is the bbolt-backed nua.Store.
type DB struct {
	bolt *bolt.DB
	// keepEvents bounds each trail; nua.MaxEvents unless KeepEvents says.
	keepEvents int
}

var (
	_ nua.Store        = (*DB)(nil)
	_ nua.BuilderStore = (*DB)(nil)
)

// Open opens or creates the store at path. It fails after a second if another
// process holds the file.
func Open(path string) (*DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: another nua server is using it", path)
		}
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := b.Update(setUp); err != nil {
		b.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &DB{bolt: b, keepEvents: nua.MaxEvents}, nil
}

// setUp creates the buckets of a new store, or migrates an older one. A
// bucket added without changing what older ones hold is created here and
// needs no new schema version.
func setUp(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	v := string(meta.Get(keySchema))
	if v != "" && v != "1" && v != schemaVersion {
		return fmt.Errorf("schema version %s, this nua knows %s: run a newer nua", v, schemaVersion)
	}
	if err := createBuckets(tx); err != nil {
		return err
	}
	switch v {
	case "":
		if err := putFirstAdmin(tx); err != nil {
			return err
		}
	case "1":
		if err := migrate1(tx); err != nil {
			return fmt.Errorf("migrate schema 1 to %s: %w", schemaVersion, err)
		}
	}
	return meta.Put(keySchema, []byte(schemaVersion))
}

func createBuckets(tx *bolt.Tx) error {
	for _, name := range topBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketEventApps, bucketEventServer} {
		if _, err := tx.Bucket(bucketEvents).CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// KeepEvents sets how many events each trail keeps (nua.MaxEvents by
// default); it is for tests.
func (db *DB) KeepEvents(n int) { db.keepEvents = n }

// NextUID returns a number no app had before, from the meta bucket's
// sequence: an app's uid is never given to a later app.
func (d *DB) NextUID() (int, error) {
	var n uint64
	err := d.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.Bucket(bucketMeta).NextSequence()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("next uid: %w", err)
	}
	return int(n), nil
}

// Close closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// App implements nua.Store.
func (db *DB) App(name string) (nua.App, error) {
	var a nua.App
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketApps).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("app %s: %w", name, nua.ErrNotFound)
		}
		return json.Unmarshal(v, &a)
	})
	return a, err
}

// Apps implements nua.Store.
func (db *DB) Apps() ([]nua.App, error) {
	var apps []nua.App
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).ForEach(func(_, v []byte) error {
			var a nua.App
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			apps = append(apps, a)
			return nil
		})
	})
	return apps, err
}

// PutApp implements nua.Store.
func (db *DB) PutApp(a nua.App) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).Put([]byte(a.Name), v)
	})
}

// DeleteApp implements nua.Store.
func (db *DB) DeleteApp(name string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketApps).Get([]byte(name)) == nil {
			return fmt.Errorf("app %s: %w", name, nua.ErrNotFound)
		}
		if err := tx.Bucket(bucketApps).Delete([]byte(name)); err != nil {
			return err
		}
		for _, parent := range []*bolt.Bucket{tx.Bucket(bucketReleases), tx.Bucket(bucketAccess)} {
			if parent.Bucket([]byte(name)) != nil {
				if err := parent.DeleteBucket([]byte(name)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Releases implements nua.Store.
func (db *DB) Releases(app string) ([]nua.Release, error) {
	var rels []nua.Release
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReleases).Bucket([]byte(app))
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var r nua.Release
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			rels = append(rels, r)
			return nil
		})
	})
	return rels, err
}

// PutRelease implements nua.Store.
func (db *DB) PutRelease(r nua.Release) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketReleases).CreateBucketIfNotExists([]byte(r.App))
		if err != nil {
			return err
		}
		return b.Put(binary.BigEndian.AppendUint64(nil, uint64(r.Version)), v)
	})
}

// TrustedBuilders implements nua.BuilderStore.
func (db *DB) TrustedBuilders() ([]nua.TrustedBuilder, error) {
	return list[nua.TrustedBuilder](db, bucketBuilders)
}

// TrustBuilder implements nua.BuilderStore.
func (db *DB) TrustBuilder(b nua.TrustedBuilder) error {
	return insert(db, bucketBuilders, b.Image, b, func() error { return fmt.Errorf("builder %s: %w", b.Image, nua.ErrExists) })
}

// UntrustBuilder implements nua.BuilderStore.
func (db *DB) UntrustBuilder(image string) error {
	return remove(db, bucketBuilders, image, func() error { return fmt.Errorf("builder %s is not trusted: %w", image, nua.ErrNotFound) })
}
