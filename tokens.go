package nua

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Token is an API token: programs (and the HTTP API) present its secret
// and act as its user, with the user's permissions. nua keeps only the
// secret's SHA-256: the secret is shown once, when the token is made.
type Token struct {
	// ID names the token in `tokens` and `tokens:revoke`; it is not secret.
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// User is whose permissions the token carries.
	User string `json:"user"`
	// Hash is the hex SHA-256 of the secret.
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"`
	// Expires is when the token stops working; zero: never.
	Expires time.Time `json:"expires,omitzero"`
	// Revoked is when tokens:revoke ended it; zero while it works.
	Revoked time.Time `json:"revoked,omitzero"`
}

// Status says whether t works at now: "active", "expired" or "revoked".
func (t Token) Status(now time.Time) string {
	switch {
	case !t.Revoked.IsZero():
		return "revoked"
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return "expired"
	}
	return "active"
}

const (
	tokenPrefix = "nua_"
	// tokenLen is the length of a secret: the prefix and 32 random bytes
	// in unpadded base64url.
	tokenLen = len(tokenPrefix) + 43
	// MaxTokenTTL is the longest a token may be made to last.
	MaxTokenTTL = 10 * 365 * 24 * time.Hour
)

var (
	tokenIDRE  = regexp.MustCompile(`^tok_[0-9a-f]{12}$`)
	tokenTTLRE = regexp.MustCompile(`^([1-9][0-9]{0,5})([mhdw])$`)
)

// ParseTokenTTL reads how long a token lasts, as tokens:create's --expires
// takes it: a whole number of minutes, hours, days or weeks ("90m", "12h",
// "30d", "2w"), or "never" (returned as 0).
func ParseTokenTTL(s string) (time.Duration, error) {
	if s == "never" {
		return 0, nil
	}
	m := tokenTTLRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%w: --expires %q: give a number and a unit, like 90m, 12h, 30d or 2w, or never", ErrInvalid, clip(s))
	}
	n, _ := strconv.Atoi(m[1]) // at most 6 digits: no overflow
	unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	if d := time.Duration(n) * unit; d <= MaxTokenTTL {
		return d, nil
	}
	return 0, fmt.Errorf("%w: --expires %s: at most 3650d (ten years), or never", ErrInvalid, s)
}

// CreateToken makes a token for user that lasts ttl (0: never) and
// returns its secret, which nua does not keep.
func (p *Platform) CreateToken(user, name string, ttl time.Duration) (string, Token, error) {
	if user == "" {
		return "", Token{}, fmt.Errorf("%w: a token needs a user", ErrInvalid)
	}
	if name != "" {
		if err := ValidateKeyName(name); err != nil {
			return "", Token{}, fmt.Errorf("%w: token name %q: use up to 64 letters, digits, dots, dashes, underscores and @", ErrInvalid, clip(name))
		}
	}
	if ttl < 0 || ttl > MaxTokenTTL {
		return "", Token{}, fmt.Errorf("%w: a token lasts from a minute to ten years, or never", ErrInvalid)
	}
	raw := make([]byte, 32+6)
	rand.Read(raw) // never fails (crypto/rand)
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:32])
	now := time.Now().UTC()
	t := Token{
		ID: "tok_" + hex.EncodeToString(raw[32:]), Name: name, User: user,
		Hash: hashToken(secret), Created: now,
	}
	if ttl > 0 {
		t.Expires = now.Add(ttl)
	}
	if err := p.cfg.Store.PutToken(t); err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	p.log.Info("token created", "id", t.ID, "user", user, "expires", t.Expires)
	return secret, t, nil
}

// Tokens lists every token, oldest first; no secret is among them.
func (p *Platform) Tokens() ([]Token, error) {
	ts, err := p.cfg.Store.Tokens()
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	slices.SortFunc(ts, func(a, b Token) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return ts, nil
}

// RevokeToken ends the token id for good. With owner set, only a token of
// that user is found: a member revokes their own and learns of no other.
func (p *Platform) RevokeToken(id, owner string) (Token, error) {
	if !tokenIDRE.MatchString(id) {
		return Token{}, fmt.Errorf("%w: token ID %q: give an ID as `tokens` lists it (tok_ and 12 hex digits)", ErrInvalid, clip(id))
	}
	ts, err := p.cfg.Store.Tokens()
	if err != nil {
		return Token{}, fmt.Errorf("revoke token: %w", err)
	}
	i := slices.IndexFunc(ts, func(t Token) bool { return t.ID == id && (owner == "" || t.User == owner) })
	if i < 0 {
		return Token{}, fmt.Errorf("token %s: %w: `tokens` lists them", id, ErrNotFound)
	}
	t := ts[i]
	if !t.Revoked.IsZero() {
		return Token{}, fmt.Errorf("token %s: revoked already on %s", id, t.Revoked.Format(time.DateOnly))
	}
	t.Revoked = time.Now().UTC()
	if err := p.cfg.Store.PutToken(t); err != nil {
		return Token{}, fmt.Errorf("revoke token: %w", err)
	}
	p.log.Info("token revoked", "id", id, "user", t.User)
	return t, nil
}

// ErrToken marks a token secret that does not let its bearer in: unknown,
// revoked or expired. Such errors match ErrNotFound too.
var ErrToken = errors.New("token refused")

// tokenError is a refused token: what happened and what to do.
type tokenError struct{ msg string }

func (e tokenError) Error() string { return "token refused: " + e.msg }

func (e tokenError) Is(target error) bool { return target == ErrToken || target == ErrNotFound }

// TokenUser returns the user of the token whose secret is given, if the
// token works: unknown, revoked and expired tokens get an error wrapping
// ErrToken (and ErrNotFound) that says what to do.
func (p *Platform) TokenUser(secret string) (string, error) {
	if len(secret) != tokenLen || !strings.HasPrefix(secret, tokenPrefix) {
		return "", tokenError{"not a nua token (nua_ and 43 characters): copy it whole"}
	}
	t, err := p.cfg.Store.TokenByHash(hashToken(secret))
	if errors.Is(err, ErrNotFound) {
		return "", tokenError{"unknown token: check it was copied whole, or make one with `tokens:create`"}
	} else if err != nil {
		return "", fmt.Errorf("check token: %w", err)
	}
	switch t.Status(time.Now()) {
	case "revoked":
		return "", tokenError{fmt.Sprintf("token %s was revoked: make a new one with `tokens:create`", t.ID)}
	case "expired":
		return "", tokenError{fmt.Sprintf("token %s expired on %s: make a new one with `tokens:create`", t.ID, t.Expires.Format(time.DateOnly))}
	}
	return t.User, nil
}

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
