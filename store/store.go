// Package store keeps nua's state in a bbolt file.
//
// The bucket tree:
//
//	meta/                    (its bucket sequence numbers the apps' uids)
//	  schema                 "1"
//	apps/
//	  <app>                  JSON nua.App
//	releases/
//	  <app>/                 one bucket per app
//	    <version uint64 BE>  JSON nua.Release
//	keys/
//	  <name>                 JSON nua.Key
//	fingerprints/
//	  <SHA256:...>           key name
//	tokens/
//	  <hex SHA-256 of secret> JSON nua.Token; the secret itself is never stored
//	builders/
//	  <image>                JSON nua.TrustedBuilder: a CNB builder image
//	                         the operator trusts (builders:trust)
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

// schemaVersion is written on creation and checked on open.
const schemaVersion = "1"

var (
	bucketMeta         = []byte("meta")
	bucketApps         = []byte("apps")
	bucketReleases     = []byte("releases")
	bucketKeys         = []byte("keys")
	bucketFingerprints = []byte("fingerprints")
	bucketBuilders     = []byte("builders")
	keySchema          = []byte("schema")
)

// DB is the bbolt-backed nua.Store.
type DB struct {
	bolt *bolt.DB
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
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketApps, bucketReleases, bucketKeys, bucketFingerprints, bucketBuilders, bucketTokens} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keySchema); {
		case v == nil:
			return meta.Put(keySchema, []byte(schemaVersion))
		case string(v) != schemaVersion:
			return fmt.Errorf("schema version %s, this nua knows %s", v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &DB{bolt: b}, nil
}

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
		rel := tx.Bucket(bucketReleases)
		if rel.Bucket([]byte(name)) != nil {
			return rel.DeleteBucket([]byte(name))
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

// Keys implements nua.Store.
func (db *DB) Keys() ([]nua.Key, error) {
	var keys []nua.Key
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
			var k nua.Key
			if err := json.Unmarshal(v, &k); err != nil {
				return err
			}
			keys = append(keys, k)
			return nil
		})
	})
	return keys, err
}

// KeyByFingerprint implements nua.Store.
func (db *DB) KeyByFingerprint(fp string) (nua.Key, error) {
	var k nua.Key
	err := db.bolt.View(func(tx *bolt.Tx) error {
		name := tx.Bucket(bucketFingerprints).Get([]byte(fp))
		if name == nil {
			return fmt.Errorf("key %s: %w", fp, nua.ErrNotFound)
		}
		return json.Unmarshal(tx.Bucket(bucketKeys).Get(name), &k)
	})
	return k, err
}

// PutKey implements nua.Store.
func (db *DB) PutKey(k nua.Key) error {
	v, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		keys, fps := tx.Bucket(bucketKeys), tx.Bucket(bucketFingerprints)
		if keys.Get([]byte(k.Name)) != nil {
			return fmt.Errorf("key %s: %w", k.Name, nua.ErrExists)
		}
		if other := fps.Get([]byte(k.Fingerprint)); other != nil {
			return fmt.Errorf("key %s: %w as %s", k.Fingerprint, nua.ErrExists, other)
		}
		if err := keys.Put([]byte(k.Name), v); err != nil {
			return err
		}
		return fps.Put([]byte(k.Fingerprint), []byte(k.Name))
	})
}

// DeleteKey implements nua.Store.
func (db *DB) DeleteKey(name string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		keys := tx.Bucket(bucketKeys)
		v := keys.Get([]byte(name))
		if v == nil {
			return fmt.Errorf("key %s: %w", name, nua.ErrNotFound)
		}
		var k nua.Key
		if err := json.Unmarshal(v, &k); err != nil {
			return err
		}
		if err := tx.Bucket(bucketFingerprints).Delete([]byte(k.Fingerprint)); err != nil {
			return err
		}
		return keys.Delete([]byte(name))
	})
}

// TrustedBuilders implements nua.BuilderStore.
func (db *DB) TrustedBuilders() ([]nua.TrustedBuilder, error) {
	var bs []nua.TrustedBuilder
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBuilders).ForEach(func(_, v []byte) error {
			var b nua.TrustedBuilder
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
			bs = append(bs, b)
			return nil
		})
	})
	return bs, err
}

// TrustBuilder implements nua.BuilderStore.
func (db *DB) TrustBuilder(b nua.TrustedBuilder) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketBuilders)
		if bk.Get([]byte(b.Image)) != nil {
			return fmt.Errorf("builder %s: %w", b.Image, nua.ErrExists)
		}
		return bk.Put([]byte(b.Image), v)
	})
}

// UntrustBuilder implements nua.BuilderStore.
func (db *DB) UntrustBuilder(image string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketBuilders)
		if bk.Get([]byte(image)) == nil {
			return fmt.Errorf("builder %s is not trusted: %w", image, nua.ErrNotFound)
		}
		return bk.Delete([]byte(image))
	})
}
