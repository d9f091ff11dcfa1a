package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	"zhifu/payment"
)

// adminSessionCookie is the name of the session cookie.
const adminSessionCookie = "zhifu_admin"

// adminSessionIDLen is the length of a session id, in random bytes.
const adminSessionIDLen = 16

// adminSession is a logged-in operator's session.
type adminSession struct {
	// id is the session's random id (raw bytes, never shown).
	id []byte
	// expires is when the session ends.
	expires time.Time
	// csrf is the token every form of the session carries.
	csrf string
}

// adminSessions makes and checks session tokens: the session id and its
// expiry, signed with HMAC-SHA256, so that any instance holding the key
// can check them. Logging out records the session in the store, which
// every instance on the same database asks about each token it would
// accept (one lookup by key), until the token expires.
type adminSessions struct {
	key   []byte
	ttl   time.Duration
	now   func() time.Time
	store payment.AdminSessionStore
}

func adminNewSessions(key []byte, ttl time.Duration, now func() time.Time, store payment.AdminSessionStore) *adminSessions {
	return &adminSessions{key: key, ttl: ttl, now: now, store: store}
}

// mac returns the HMAC of the parts under the sessions' key, with the
// purpose first so that a MAC made for one use is no good for another.
func (m *adminSessions) mac(purpose string, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// create starts a new session and returns it with its token, the value
// of the session cookie.
func (m *adminSessions) create() (*adminSession, string) {
	id := make([]byte, adminSessionIDLen)
	rand.Read(id)
	exp := m.now().Add(m.ttl).Truncate(time.Second)
	payload := binary.BigEndian.AppendUint64(append([]byte(nil), id...), uint64(exp.Unix()))
	enc := base64.RawURLEncoding
	token := enc.EncodeToString(payload) + "." + enc.EncodeToString(m.mac("session", payload))
	return m.session(id, exp), token
}

// session returns the session of id, with its CSRF token.
func (m *adminSessions) session(id []byte, exp time.Time) *adminSession {
	return &adminSession{id: id, expires: exp, csrf: base64.RawURLEncoding.EncodeToString(m.mac("csrf", id))}
}

// check returns the session of token, or nil if the token is malformed,
// forged, expired or revoked. The error is for a store that could not
// say whether the session was revoked.
func (m *adminSessions) check(ctx context.Context, token string) (*adminSession, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return nil, nil
	}
	enc := base64.RawURLEncoding
	payload, err := enc.DecodeString(p)
	if err != nil || len(payload) != adminSessionIDLen+8 {
		return nil, nil
	}
	mac, err := enc.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, m.mac("session", payload)) {
		return nil, nil
	}
	id := payload[:adminSessionIDLen]
	secs := binary.BigEndian.Uint64(payload[adminSessionIDLen:])
	if secs > 1<<62 {
		return nil, nil
	}
	exp := time.Unix(int64(secs), 0)
	if !m.now().Before(exp) {
		return nil, nil
	}
	revoked, err := m.store.AdminSessionRevoked(ctx, adminSessionHash(id))
	if err != nil {
		return nil, fmt.Errorf("httpapi: admin session: %w", err)
	}
	if revoked {
		return nil, nil
	}
	return m.session(id, exp), nil
}

// validCSRF reports whether token is the CSRF token of sess, comparing
// in constant time.
func (m *adminSessions) validCSRF(sess *adminSession, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) == 1
}

// revoke ends sess on every instance on the store: its token is refused
// until it would have expired anyway.
func (m *adminSessions) revoke(ctx context.Context, sess *adminSession) error {
	if err := m.store.RevokeAdminSession(ctx, adminSessionHash(sess.id), sess.expires); err != nil {
		return fmt.Errorf("httpapi: admin logout: %w", err)
	}
	return nil
}

// adminSessionHash names the session of id in the store: its SHA-256
// hash, so that the store holds nothing of the token.
func adminSessionHash(id []byte) []byte {
	h := sha256.Sum256(id)
	return h[:]
}

// Limits of adminLoginLimiter.
const (
	adminLoginMaxFailures = 5
	adminLoginWindow      = time.Minute
	adminLoginMaxClients  = 10_000
)

// adminLoginLimiter slows down password guessing: a client that gave
// adminLoginMaxFailures wrong passwords within adminLoginWindow is refused
// until the window has passed since its last failure.
type adminLoginLimiter struct {
	now func() time.Time

	mu      sync.Mutex
	clients map[string]*adminLoginFailures
}

// adminLoginFailures counts one client's recent wrong passwords.
type adminLoginFailures struct {
	count int
	last  time.Time
}

func adminNewLoginLimiter(now func() time.Time) *adminLoginLimiter {
	return &adminLoginLimiter{now: now, clients: map[string]*adminLoginFailures{}}
}

// wait returns how long the client must wait before trying again, or
// zero when it may try now.
func (l *adminLoginLimiter) wait(client string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.clients[client]
	if f == nil || f.count < adminLoginMaxFailures {
		return 0
	}
	if d := f.last.Add(adminLoginWindow).Sub(l.now()); d > 0 {
		return d
	}
	delete(l.clients, client)
	return 0
}

// fail records a wrong password of the client.
func (l *adminLoginLimiter) fail(client string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.clients) >= adminLoginMaxClients {
		for c, f := range l.clients {
			if now.Sub(f.last) >= adminLoginWindow {
				delete(l.clients, c)
			}
		}
	}
	f := l.clients[client]
	if f == nil || now.Sub(f.last) >= adminLoginWindow {
		f = &adminLoginFailures{}
		l.clients[client] = f
	}
	f.count++
	f.last = now
}

// succeed forgets the client's failures.
func (l *adminLoginLimiter) succeed(client string) {
	l.mu.Lock()
	delete(l.clients, client)
	l.mu.Unlock()
}
