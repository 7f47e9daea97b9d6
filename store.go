package nua

// Store keeps the platform's state. The store package implements it on bbolt.
type Store interface {
	// App returns the named app or an error wrapping ErrNotFound.
	App(name string) (App, error)
	// Apps returns every app, sorted by name.
	Apps() ([]App, error)
	// PutApp creates or replaces an app.
	PutApp(App) error
	// DeleteApp removes an app with its releases and who may act on it;
	// its events stay.
	DeleteApp(name string) error
	// Releases returns an app's releases, oldest first.
	Releases(app string) ([]Release, error)
	// PutRelease records a release.
	PutRelease(Release) error
	// NextUID returns a number never returned before (1, 2, ...).
	NextUID() (int, error)
	// Tokens returns every API token, in no particular order.
	Tokens() ([]Token, error)
	// TokenByHash returns the token whose secret hashes to hash (hex
	// SHA-256) or an error wrapping ErrNotFound.
	TokenByHash(hash string) (Token, error)
	// PutToken creates or replaces a token, keyed by its hash.
	PutToken(Token) error
	// Accounts keeps users, keys, access and events.
	Accounts
	// AddonStore keeps addons.
	AddonStore
}
