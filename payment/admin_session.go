package payment

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"
)

// AdminSessionHashLen is the length of the hash that names a revoked
// admin session in the store: a SHA-256 hash.
const AdminSessionHashLen = sha256.Size

// adminSessionPurgeGrace is how long after its session's end the sweep
// keeps a revocation: the instances' clocks may run behind the
// sweeper's, and a session must stay refused on each until its own
// clock ends it.
const adminSessionPurgeGrace = time.Hour

// AdminSessionStore records the admin sessions that were logged out.
// Admin sessions are signed tokens that every instance holding the key
// accepts until they expire; a logout records the session here, so that
// every instance on the same database refuses it from then on. Both
// stores implement it, as part of [Store].
type AdminSessionStore interface {
	// RevokeAdminSession records that the admin session named by hash
	// was ended: it is refused until expires, its own end. hash is a
	// hash of the session's id, AdminSessionHashLen bytes, never the
	// session's token. Revoking a session again changes nothing and is
	// no error. A hash of another length is ErrInvalid.
	RevokeAdminSession(ctx context.Context, hash []byte, expires time.Time) error

	// AdminSessionRevoked reports whether the admin session named by
	// hash was revoked (and its revocation not purged yet): one lookup
	// by key, made for every request of the admin pages.
	AdminSessionRevoked(ctx context.Context, hash []byte) (bool, error)

	// PurgeAdminSessionRevocations deletes the revocations of the
	// sessions that expired before the time and returns how many it
	// deleted: housekeeping, for the sweep (those sessions are refused
	// anyway, being expired).
	PurgeAdminSessionRevocations(ctx context.Context, expiredBefore time.Time) (int64, error)
}

// CheckAdminSessionHash checks the hash naming an admin session, for the
// stores: AdminSessionHashLen bytes. Errors wrap [ErrInvalid].
func CheckAdminSessionHash(hash []byte) error {
	if len(hash) != AdminSessionHashLen {
		return fmt.Errorf("%w: admin session hash: want %d bytes, have %d", ErrInvalid, AdminSessionHashLen, len(hash))
	}
	return nil
}
