package payment

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"
	"unicode/utf8"
)

// Bounds of idempotency keys.
const (
	// IdempotencyTTL is how long the answer to a request is kept under its
	// idempotency key: a retry within it gets the first answer, a request
	// after it runs anew.
	IdempotencyTTL = 24 * time.Hour
	// MaxIdempotencyKeyLen is the longest idempotency key, in bytes.
	MaxIdempotencyKeyLen = 255
)

// IdempotencyRecord is a request made under an idempotency key, and its
// answer once it has one. The key belongs to one API key: two API keys
// may use the same idempotency key without meeting.
type IdempotencyRecord struct {
	// APIKeyID is the id of the API key the request was made with.
	APIKeyID string
	// Key is the client's Idempotency-Key: 1 to MaxIdempotencyKeyLen
	// printable ASCII characters.
	Key string
	// RequestHash is the SHA-256 hash of the request (see
	// HashIdempotentRequest): the same key with another request is a
	// client's mistake.
	RequestHash []byte
	// Status is the HTTP status of the answer, or 0 while the request is
	// in progress.
	Status int
	// Body is the answer's body.
	Body []byte
	// CreatedAt is when the request was claimed; the record expires
	// IdempotencyTTL after it.
	CreatedAt time.Time
}

// Done reports whether the request has its answer.
func (r *IdempotencyRecord) Done() bool { return r.Status != 0 }

// Validate checks that r can be stored: an API key id, a key of the
// allowed form, a hash of SHA-256's size. Errors wrap [ErrInvalid].
func (r *IdempotencyRecord) Validate() error {
	if r.APIKeyID == "" {
		return fmt.Errorf("%w: idempotency record without an API key", ErrInvalid)
	}
	if err := CheckIdempotencyKey(r.Key); err != nil {
		return err
	}
	if len(r.RequestHash) != sha256.Size {
		return fmt.Errorf("%w: idempotency request hash: want %d bytes, have %d", ErrInvalid, sha256.Size, len(r.RequestHash))
	}
	return nil
}

// CheckIdempotencyKey checks an Idempotency-Key: 1 to
// MaxIdempotencyKeyLen printable ASCII characters (a UUID is typical).
// Errors wrap [ErrInvalid].
func CheckIdempotencyKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKeyLen || !utf8.ValidString(key) {
		return fmt.Errorf("%w: idempotency key: want 1 to %d printable ASCII characters, have %d bytes", ErrInvalid, MaxIdempotencyKeyLen, len(key))
	}
	for i := range len(key) {
		if key[i] < 0x21 || key[i] > 0x7e {
			return fmt.Errorf("%w: idempotency key: character %q at %d is not printable ASCII", ErrInvalid, key[i], i)
		}
	}
	return nil
}

// HashIdempotentRequest returns the hash stored with an idempotency key:
// SHA-256 over the method, the path and the body, each length-prefixed so
// that no two requests share an input.
func HashIdempotentRequest(method, path string, body []byte) []byte {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(method), []byte(path), body} {
		fmt.Fprintf(h, "%d:", len(part))
		h.Write(part)
	}
	return h.Sum(nil)
}

// IdempotencyClaim asks [IdempotencyStore.ClaimIdempotencyKey] for a key.
type IdempotencyClaim struct {
	// Record is the new record, in progress (Status 0), with CreatedAt the
	// time of the claim (the store's clock when zero).
	Record *IdempotencyRecord
	// ExpiredBefore: a record created before it has expired, and is
	// replaced by the new one whatever its state.
	ExpiredBefore time.Time
	// StaleBefore: a record still in progress that was created before it
	// was abandoned (its process died before answering), and is replaced.
	// It must be further back than the longest a request can run.
	StaleBefore time.Time
}

// IdempotencyStore keeps idempotency records. Both stores implement it;
// it is apart from [Store] because only the JSON API needs it.
type IdempotencyStore interface {
	// ClaimIdempotencyKey stores c.Record for its (APIKeyID, Key) if no
	// record is there, or only one that expired or went stale (see
	// IdempotencyClaim), and returns nil, nil: the caller runs the request
	// and then calls CompleteIdempotencyKey. Otherwise it stores nothing
	// and returns the record that is there, in progress or done. Of
	// concurrent claims of one key, exactly one wins.
	ClaimIdempotencyKey(ctx context.Context, c IdempotencyClaim) (*IdempotencyRecord, error)
	// CompleteIdempotencyKey stores the answer of the claimed request. A
	// record that is not there (expired and purged) is ErrNotFound; one
	// already done is ErrConflict and is not changed.
	CompleteIdempotencyKey(ctx context.Context, apiKeyID, key string, status int, body []byte) error
	// ReleaseIdempotencyKey deletes the record of a claimed request that
	// is still in progress, so that the key can be used again at once (the
	// request was not run). Records already done are kept. An unknown key
	// is not an error.
	ReleaseIdempotencyKey(ctx context.Context, apiKeyID, key string) error
	// PurgeIdempotencyKeys deletes the records created before the time
	// and returns how many it deleted: housekeeping, for a periodic job.
	PurgeIdempotencyKeys(ctx context.Context, createdBefore time.Time) (int64, error)
}
