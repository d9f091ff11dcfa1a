package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"zhifu/internal/testclock"
	"zhifu/payment"
	"zhifu/payment/sqlitestore"
)

// TestKeyCacheKeepsOnlyValidKeys: authenticate on a real store keeps a
// key that authenticated, and nothing of a failed lookup (unknown keys,
// a wrong secret), however many; a wrong secret for a kept key's id is
// refused; a revoked key is refused once the TTL has passed, and
// forgotten.
func TestKeyCacheKeepsOnlyValidKeys(t *testing.T) {
	t.Parallel()
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "zhifu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := testclock.New(time.Now())
	a := &api{cfg: Config{Keys: store}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), keys: newKeyCache(DefaultKeyCacheTTL, clock.Now)}
	secret, k, err := payment.NewAPIKey("valid")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateAPIKey(context.Background(), &k); err != nil {
		t.Fatal(err)
	}
	auth := func(secret string) (*payment.APIKey, *Error) {
		r := httptest.NewRequest(http.MethodGet, "/v1/payments", nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		return a.authenticate(r)
	}
	if got, e := auth(secret); e != nil || got.ID != k.ID {
		t.Fatalf("the valid key: %v, %v", got, e)
	}
	if n := a.keys.len(); n != 1 {
		t.Fatalf("%d keys kept after one valid request, want 1", n)
	}
	for range 2000 {
		unknown, _, err := payment.NewAPIKey("never stored")
		if err != nil {
			t.Fatal(err)
		}
		if _, e := auth(unknown); e == nil || e.Code != CodeInvalidAPIKey {
			t.Fatalf("an unknown key: %v, want invalid_api_key", e)
		}
	}
	wrong := secret[:len(secret)-1] + "x"
	if secret[len(secret)-1] == 'x' {
		wrong = secret[:len(secret)-1] + "y"
	}
	for range 10 {
		if _, e := auth(wrong); e == nil || e.Code != CodeInvalidAPIKey {
			t.Fatalf("a wrong secret for a kept key's id: %v, want invalid_api_key", e)
		}
	}
	if n := a.keys.len(); n != 1 {
		t.Fatalf("%d keys kept after 2010 failed requests, want 1", n)
	}
	if err := store.RevokeAPIKey(context.Background(), k.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(DefaultKeyCacheTTL - time.Nanosecond)
	if _, e := auth(secret); e != nil {
		t.Fatalf("the revoked key within the TTL: %v, want still kept", e)
	}
	clock.Advance(time.Nanosecond)
	if _, e := auth(secret); e == nil || e.Code != CodeAPIKeyRevoked {
		t.Fatalf("the revoked key after the TTL: %v, want api_key_revoked", e)
	}
	if n := a.keys.len(); n != 0 {
		t.Fatalf("%d keys kept after the revoked key was refused, want 0", n)
	}
}

// TestKeyCacheBounded: the cache keeps at most keyCacheMax keys, makes
// room by forgetting expired ones, and keeps nothing with a TTL of zero
// or less.
func TestKeyCacheBounded(t *testing.T) {
	t.Parallel()
	clock := testclock.New(time.Now())
	c := newKeyCache(time.Second, clock.Now)
	secrets := make(map[string]string)
	for range keyCacheMax + 10 {
		secret, k, err := payment.NewAPIKey("k")
		if err != nil {
			t.Fatal(err)
		}
		secrets[k.ID] = secret
		c.put(&k)
	}
	if n := c.len(); n != keyCacheMax {
		t.Fatalf("%d keys kept, want the bound %d", n, keyCacheMax)
	}
	kept := 0
	for id, secret := range secrets {
		if c.get(id, secret) != nil {
			kept++
		}
	}
	if kept != keyCacheMax {
		t.Fatalf("%d keys found, want %d", kept, keyCacheMax)
	}
	clock.Advance(time.Second)
	secret, k, _ := payment.NewAPIKey("late")
	c.put(&k)
	if n := c.len(); n != 1 || c.get(k.ID, secret) == nil {
		t.Fatalf("%d keys kept after the others expired, want the new one only", n)
	}
	off := newKeyCache(-1, clock.Now)
	off.put(&k)
	if off.len() != 0 || off.get(k.ID, secret) != nil {
		t.Fatal("a cache with a negative TTL kept a key")
	}
}
