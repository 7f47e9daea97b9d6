package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nua-paas/nua"
	bolt "go.etcd.io/bbolt"
)

// Roles in the access bucket.
const (
	roleOwner        = "owner"
	roleCollaborator = "collaborator"
)

// Users implements nua.Store.
func (db *DB) Users() ([]nua.User, error) {
	var users []nua.User
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
			var u nua.User
			if err := json.Unmarshal(v, &u); err != nil {
				return err
			}
			users = append(users, u)
			return nil
		})
	})
	return users, err
}

// User implements nua.Store.
func (db *DB) User(name string) (nua.User, error) {
	var u nua.User
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		u, err = getUser(tx, name)
		return err
	})
	return u, err
}

func getUser(tx *bolt.Tx, name string) (nua.User, error) {
	var u nua.User
	v := tx.Bucket(bucketUsers).Get([]byte(name))
	if v == nil {
		return u, fmt.Errorf("user %s: %w", name, nua.ErrNotFound)
	}
	return u, json.Unmarshal(v, &u)
}

// PutUser implements nua.Store.
func (db *DB) PutUser(u nua.User) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketUsers).Get([]byte(u.Name)) != nil {
			return fmt.Errorf("user %s: %w", u.Name, nua.ErrExists)
		}
		return putJSON(tx.Bucket(bucketUsers), u.Name, u)
	})
}

// putFirstAdmin adds the admin a new store starts with.
func putFirstAdmin(tx *bolt.Tx) error {
	return putJSON(tx.Bucket(bucketUsers), nua.AdminUser, nua.User{Name: nua.AdminUser, Admin: true, Created: time.Now().UTC()})
}

// DeleteUser implements nua.Store.
func (db *DB) DeleteUser(name string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		u, err := getUser(tx, name)
		if err != nil {
			return err
		}
		if u.Admin {
			if err := otherAdmin(tx, name); err != nil {
				return err
			}
		}
		owned, err := appsOwnedBy(tx, name)
		if err != nil {
			return err
		}
		if len(owned) > 0 {
			return fmt.Errorf("%w: %s owns %s: give them to someone else first (apps:transfer APP USER)", nua.ErrInvalid, name, strings.Join(owned, ", "))
		}
		if err := deleteKeysOf(tx, name); err != nil {
			return err
		}
		if err := dropCollaborations(tx, name); err != nil {
			return err
		}
		return tx.Bucket(bucketUsers).Delete([]byte(name))
	})
}

// otherAdmin fails with ErrLastAdmin unless an admin other than name exists.
func otherAdmin(tx *bolt.Tx, name string) error {
	c := tx.Bucket(bucketUsers).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var u nua.User
		if err := json.Unmarshal(v, &u); err != nil {
			return err
		}
		if u.Admin && u.Name != name {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is the last admin: add another first (users:add NAME --admin)", nua.ErrLastAdmin, name)
}

func appsOwnedBy(tx *bolt.Tx, user string) ([]string, error) {
	var owned []string
	err := tx.Bucket(bucketAccess).ForEachBucket(func(app []byte) error {
		if string(tx.Bucket(bucketAccess).Bucket(app).Get([]byte(user))) == roleOwner {
			owned = append(owned, string(app))
		}
		return nil
	})
	return owned, err
}

func deleteKeysOf(tx *bolt.Tx, user string) error {
	keys := tx.Bucket(bucketKeys).Bucket([]byte(user))
	if keys == nil {
		return nil
	}
	err := keys.ForEach(func(_, v []byte) error {
		var k nua.Key
		if err := json.Unmarshal(v, &k); err != nil {
			return err
		}
		return tx.Bucket(bucketFingerprints).Delete([]byte(k.Fingerprint))
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketKeys).DeleteBucket([]byte(user))
}

func dropCollaborations(tx *bolt.Tx, user string) error {
	var apps [][]byte // collected first: no change while iterating
	err := tx.Bucket(bucketAccess).ForEachBucket(func(app []byte) error {
		apps = append(apps, slices.Clone(app))
		return nil
	})
	if err != nil {
		return err
	}
	for _, app := range apps {
		if err := tx.Bucket(bucketAccess).Bucket(app).Delete([]byte(user)); err != nil {
			return err
		}
	}
	return nil
}

// Keys implements nua.Store.
func (db *DB) Keys(user string) ([]nua.Key, error) {
	var keys []nua.Key
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEachBucket(func(u []byte) error {
			if user != "" && string(u) != user {
				return nil
			}
			return tx.Bucket(bucketKeys).Bucket(u).ForEach(func(_, v []byte) error {
				var k nua.Key
				if err := json.Unmarshal(v, &k); err != nil {
					return err
				}
				keys = append(keys, k)
				return nil
			})
		})
	})
	return keys, err
}

// KeyByFingerprint implements nua.Store.
func (db *DB) KeyByFingerprint(fp string) (nua.Key, error) {
	var k nua.Key
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ref := tx.Bucket(bucketFingerprints).Get([]byte(fp))
		user, name, ok := strings.Cut(string(ref), "/")
		if !ok {
			return fmt.Errorf("key %s: %w", fp, nua.ErrNotFound)
		}
		keys := tx.Bucket(bucketKeys).Bucket([]byte(user))
		if keys == nil || keys.Get([]byte(name)) == nil {
			return fmt.Errorf("key %s: %w", fp, nua.ErrNotFound)
		}
		return json.Unmarshal(keys.Get([]byte(name)), &k)
	})
	return k, err
}

// PutKey implements nua.Store.
func (db *DB) PutKey(k nua.Key) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if _, err := getUser(tx, k.User); err != nil {
			return err
		}
		keys, err := tx.Bucket(bucketKeys).CreateBucketIfNotExists([]byte(k.User))
		if err != nil {
			return err
		}
		if keys.Get([]byte(k.Name)) != nil {
			return fmt.Errorf("key %s of %s: %w: choose another name or remove it first (keys:remove %s %s)", k.Name, k.User, nua.ErrExists, k.User, k.Name)
		}
		if other := tx.Bucket(bucketFingerprints).Get([]byte(k.Fingerprint)); other != nil {
			return fmt.Errorf("key %s: %w as %s", k.Fingerprint, nua.ErrExists, other)
		}
		if err := putJSON(keys, k.Name, k); err != nil {
			return err
		}
		return tx.Bucket(bucketFingerprints).Put([]byte(k.Fingerprint), []byte(k.User+"/"+k.Name))
	})
}

// DeleteKey implements nua.Store.
func (db *DB) DeleteKey(user, name string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		keys := tx.Bucket(bucketKeys).Bucket([]byte(user))
		var v []byte
		if keys != nil {
			v = keys.Get([]byte(name))
		}
		if v == nil {
			return fmt.Errorf("key %s of %s: %w: see `keys %s`", name, user, nua.ErrNotFound, user)
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

// Access implements nua.Store.
func (db *DB) Access(app string) (nua.Access, error) {
	a := nua.Access{App: app}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAccess).Bucket([]byte(app))
		if b == nil {
			return nil
		}
		return b.ForEach(func(user, role []byte) error {
			if string(role) == roleOwner {
				a.Owner = string(user)
			} else {
				a.Collaborators = append(a.Collaborators, string(user))
			}
			return nil
		})
	})
	return a, err
}

// SetOwner implements nua.Store.
func (db *DB) SetOwner(app, user string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := accessBucket(tx, app, user)
		if err != nil {
			return err
		}
		var owners [][]byte // collected first: no change while iterating
		err = b.ForEach(func(u, role []byte) error {
			if string(role) == roleOwner {
				owners = append(owners, slices.Clone(u))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, u := range owners {
			if err := b.Put(u, []byte(roleCollaborator)); err != nil {
				return err
			}
		}
		return b.Put([]byte(user), []byte(roleOwner))
	})
}

// AddCollaborator implements nua.Store.
func (db *DB) AddCollaborator(app, user string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := accessBucket(tx, app, user)
		if err != nil {
			return err
		}
		if role := b.Get([]byte(user)); role != nil {
			return fmt.Errorf("%s is the %s of %s: %w", user, role, app, nua.ErrExists)
		}
		return b.Put([]byte(user), []byte(roleCollaborator))
	})
}

// RemoveCollaborator implements nua.Store.
func (db *DB) RemoveCollaborator(app, user string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAccess).Bucket([]byte(app))
		if b == nil || string(b.Get([]byte(user))) != roleCollaborator {
			return fmt.Errorf("%s is no collaborator of %s: %w: see `access %s`", user, app, nua.ErrNotFound, app)
		}
		return b.Delete([]byte(user))
	})
}

// accessBucket returns the access bucket of app, which must exist, as user
// must, creating the bucket if needed.
func accessBucket(tx *bolt.Tx, app, user string) (*bolt.Bucket, error) {
	if tx.Bucket(bucketApps).Get([]byte(app)) == nil {
		return nil, fmt.Errorf("app %s: %w", app, nua.ErrNotFound)
	}
	if _, err := getUser(tx, user); err != nil {
		return nil, err
	}
	return tx.Bucket(bucketAccess).CreateBucketIfNotExists([]byte(app))
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}
