package payment

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrRevoked: the API key was revoked.
var ErrRevoked = errors.New("payment: API key revoked")

// APIKeyPrefix starts every API key secret, so that a leaked key is
// recognised by secret scanners and by people.
const APIKeyPrefix = "zk_"

// MaxAPIKeyNameLen bounds the name of an API key, in characters.
const MaxAPIKeyNameLen = 100

// apiKeyEncoding writes the ids and secrets of API keys: lower-case base 32
// without padding, which survives URLs, shells and double-clicks.
var apiKeyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// APIKey is an API key as stored: its id and the SHA-256 hash of its
// secret, never the secret itself. The secret ("zk_<id>_<52 characters>")
// is shown once, when [NewAPIKey] makes it.
type APIKey struct {
	// ID is the key's id, 16 characters of base 32: not secret, written
	// in logs and shown by listings. It is also part of the secret, so
	// that a presented secret is looked up by it.
	ID string
	// Name says what the key is for ("shop backend"), for people.
	Name string
	// Hash is the SHA-256 hash of the whole secret.
	Hash []byte
	// CreatedAt is when the key was made.
	CreatedAt time.Time
	// RevokedAt is when the key was revoked, or zero while it is valid.
	RevokedAt time.Time
}

// Revoked reports whether the key was revoked.
func (k *APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// NewAPIKey makes a new API key named name: the secret to hand to its
// user, once, and the key to store (with [APIKeyStore.CreateAPIKey]),
// which holds only the secret's hash. The secret carries 256 random bits.
func NewAPIKey(name string) (secret string, key APIKey, err error) {
	if n := utf8.RuneCountInString(name); n == 0 || n > MaxAPIKeyNameLen || hasControl(name) {
		return "", APIKey{}, fmt.Errorf("%w: API key name: 1 to %d characters without control characters", ErrInvalid, MaxAPIKeyNameLen)
	}
	idBytes := make([]byte, 10)
	secretBytes := make([]byte, 32)
	rand.Read(idBytes)
	rand.Read(secretBytes)
	id := apiKeyEncoding.EncodeToString(idBytes)
	secret = APIKeyPrefix + id + "_" + apiKeyEncoding.EncodeToString(secretBytes)
	return secret, APIKey{ID: id, Name: name, Hash: HashAPIKey(secret)}, nil
}

// HashAPIKey returns the SHA-256 hash of an API key secret, as stored. A
// fast hash is right here: the secret has 256 random bits, nothing to
// guess.
func HashAPIKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// APIKeyID returns the id part of an API key secret, to look the key up
// by, or an error wrapping ErrInvalid if secret does not have the form of
// a key. The error never repeats the secret.
func APIKeyID(secret string) (string, error) {
	rest, ok := strings.CutPrefix(secret, APIKeyPrefix)
	id, sec, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 16 || len(sec) != 52 || !isAPIKeyText(id) || !isAPIKeyText(sec) {
		return "", fmt.Errorf("%w: not an API key (want %s<id>_<secret>)", ErrInvalid, APIKeyPrefix)
	}
	return id, nil
}

// isAPIKeyText reports whether s has only characters of apiKeyEncoding.
func isAPIKeyText(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// Matches reports, in constant time, whether secret is the key's secret.
func (k *APIKey) Matches(secret string) bool {
	return subtle.ConstantTimeCompare(HashAPIKey(secret), k.Hash) == 1
}

// Validate checks that k can be stored: an id of the right form, a name,
// a hash of SHA-256's size. Errors wrap [ErrInvalid].
func (k *APIKey) Validate() error {
	switch {
	case len(k.ID) != 16 || !isAPIKeyText(k.ID):
		return fmt.Errorf("%w: API key id %q: want 16 characters of lower-case base 32", ErrInvalid, k.ID)
	case utf8.RuneCountInString(k.Name) == 0 || utf8.RuneCountInString(k.Name) > MaxAPIKeyNameLen || hasControl(k.Name):
		return fmt.Errorf("%w: API key name: 1 to %d characters without control characters", ErrInvalid, MaxAPIKeyNameLen)
	case len(k.Hash) != sha256.Size:
		return fmt.Errorf("%w: API key hash: want %d bytes, have %d", ErrInvalid, sha256.Size, len(k.Hash))
	}
	return nil
}

// APIKeyStore keeps API keys. Both stores implement it
// ([zhifu/payment/sqlitestore], [zhifu/payment/postgresstore]); it is
// apart from [Store] because only the JSON API needs it.
type APIKeyStore interface {
	// CreateAPIKey stores a new key, checked with Validate, and sets
	// k.CreatedAt to the time of storing when zero. A taken ID is
	// ErrDuplicate.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// GetAPIKey returns the key with the id, revoked or not, or
	// ErrNotFound.
	GetAPIKey(ctx context.Context, id string) (*APIKey, error)
	// ListAPIKeys returns every key, revoked ones too, oldest first.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey revokes the key at the time (the store's clock when
	// zero). An unknown key is ErrNotFound; a key already revoked is
	// ErrRevoked, and keeps its first RevokedAt.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
}

// Authenticate returns the valid key whose secret was presented, looked
// up in keys. A secret of the wrong form, an unknown key and a wrong
// secret are all ErrNotFound (wrapped, and never repeating the secret); a
// revoked key is ErrRevoked. The hash is compared in constant time.
func Authenticate(ctx context.Context, keys APIKeyStore, secret string) (*APIKey, error) {
	id, err := APIKeyID(secret)
	if err != nil {
		return nil, fmt.Errorf("payment: authenticate: %w", ErrNotFound)
	}
	k, err := keys.GetAPIKey(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("payment: authenticate key %s: %w", id, err)
	}
	if !k.Matches(secret) {
		return nil, fmt.Errorf("payment: authenticate key %s: wrong secret: %w", id, ErrNotFound)
	}
	if k.Revoked() {
		return nil, fmt.Errorf("payment: authenticate key %s: %w", id, ErrRevoked)
	}
	return k, nil
}
