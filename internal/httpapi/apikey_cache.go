package httpapi

import (
	"sync"
	"time"

	"zhifu/payment"
)

// DefaultKeyCacheTTL is how long a valid API key is trusted without being
// read from the store again (Config.KeyCacheTTL): a key revoked meanwhile
// keeps working on a running server for at most this long.
const DefaultKeyCacheTTL = 5 * time.Second

// maxKeyCacheTTL bounds Config.KeyCacheTTL, so that a revocation always
// takes effect promptly.
const maxKeyCacheTTL = time.Minute

// keyCacheMax bounds the number of keys kept. Only keys whose secret was
// presented and matched are kept, so the cache holds at most the keys in
// use — an attacker's guesses never enter it; the bound is a second guard.
const keyCacheMax = 1024

// keyCache keeps the API keys that authenticated recently, so that a
// request with a key seen in the last ttl costs a SHA-256 and a
// constant-time comparison, not a read of the store. It keeps nothing of
// a failed lookup: an unknown id, a wrong secret or a revoked key is
// read from the store every time, as without the cache.
type keyCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.RWMutex
	m   map[string]keyCacheEntry // by key id
}

// keyCacheEntry is a key that authenticated, and until when it is
// trusted without reading it again.
type keyCacheEntry struct {
	key     *payment.APIKey
	expires time.Time
}

// newKeyCache returns a cache keeping keys for ttl on the clock now; a
// ttl of zero or less keeps none.
func newKeyCache(ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{ttl: ttl, now: now, m: make(map[string]keyCacheEntry)}
}

// get returns the key of id if it authenticated less than ttl ago and
// secret is its secret (compared in constant time), or nil.
func (c *keyCache) get(id, secret string) *payment.APIKey {
	if c.ttl <= 0 {
		return nil
	}
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.expires) || !e.key.Matches(secret) {
		return nil
	}
	return e.key
}

// put keeps k, which has just authenticated (valid, its secret matched),
// for ttl. When the cache is full it first forgets the expired keys, and
// keeps k only if that made room.
func (c *keyCache) put(k *payment.APIKey) {
	if c.ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k.ID]; !ok && len(c.m) >= keyCacheMax {
		for id, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, id)
			}
		}
		if len(c.m) >= keyCacheMax {
			return
		}
	}
	c.m[k.ID] = keyCacheEntry{key: k, expires: now.Add(c.ttl)}
}

// drop forgets the key of id (found revoked or gone).
func (c *keyCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// len returns the number of keys kept.
func (c *keyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
