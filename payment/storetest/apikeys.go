package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"zhifu/payment"
)

// RunAPIKeys runs the conformance tests of [payment.APIKeyStore] and
// [payment.Pinger] against the stores open returns, which must implement
// both.
func RunAPIKeys(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s payment.APIKeyStore)
	}{
		{"APIKeyCreateGetList", testAPIKeyCreateGetList},
		{"APIKeyDuplicate", testAPIKeyDuplicate},
		{"APIKeyInvalid", testAPIKeyInvalid},
		{"APIKeyRevoke", testAPIKeyRevoke},
		{"APIKeyAuthenticate", testAPIKeyAuthenticate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			keys, ok := s.(payment.APIKeyStore)
			if !ok {
				t.Fatalf("%T does not implement payment.APIKeyStore", s)
			}
			tt.fn(t, keys)
		})
	}
	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		p, ok := s.(payment.Pinger)
		if !ok {
			t.Fatalf("%T does not implement payment.Pinger", s)
		}
		if err := p.Ping(context.Background()); err != nil {
			t.Fatalf("Ping of a migrated store: %v", err)
		}
		s.Close()
		if err := p.Ping(context.Background()); err == nil {
			t.Fatal("Ping of a closed store succeeded")
		}
	})
}

// newKey makes and stores a key, failing t on error.
func newKey(t *testing.T, s payment.APIKeyStore, name string) (string, payment.APIKey) {
	t.Helper()
	secret, k, err := payment.NewAPIKey(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(context.Background(), &k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return secret, k
}

func testAPIKeyCreateGetList(t *testing.T, s payment.APIKeyStore) {
	ctx := context.Background()
	if keys, err := s.ListAPIKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("ListAPIKeys of an empty store = %v, %v", keys, err)
	}
	secret, k := newKey(t, s, "shop backend 商店")
	if k.CreatedAt.IsZero() || k.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want set, in UTC", k.CreatedAt)
	}
	_, k2 := newKey(t, s, "second")
	got, err := s.GetAPIKey(ctx, k.ID)
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	if got.ID != k.ID || got.Name != k.Name || !bytes.Equal(got.Hash, k.Hash) || !got.CreatedAt.Equal(k.CreatedAt) || got.Revoked() {
		t.Errorf("GetAPIKey = %+v, want %+v", got, k)
	}
	if !got.Matches(secret) || got.Matches(secret+"x") {
		t.Error("the stored hash does not match the secret alone")
	}
	keys, err := s.ListAPIKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].ID != k.ID || keys[1].ID != k2.ID {
		t.Fatalf("ListAPIKeys = %v, %v; want %s then %s", keys, err, k.ID, k2.ID)
	}
	if _, err := s.GetAPIKey(ctx, "aaaaaaaaaaaaaaaa"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("GetAPIKey of an unknown id: %v, want ErrNotFound", err)
	}
}

func testAPIKeyDuplicate(t *testing.T, s payment.APIKeyStore) {
	_, k := newKey(t, s, "one")
	dup := payment.APIKey{ID: k.ID, Name: "two", Hash: payment.HashAPIKey("other")}
	if err := s.CreateAPIKey(context.Background(), &dup); !errors.Is(err, payment.ErrDuplicate) {
		t.Fatalf("CreateAPIKey with a taken id: %v, want ErrDuplicate", err)
	}
	got, err := s.GetAPIKey(context.Background(), k.ID)
	if err != nil || got.Name != "one" {
		t.Fatalf("the first key changed: %+v, %v", got, err)
	}
}

func testAPIKeyInvalid(t *testing.T, s payment.APIKeyStore) {
	ctx := context.Background()
	for name, k := range map[string]payment.APIKey{
		"no id":      {Name: "x", Hash: payment.HashAPIKey("x")},
		"short hash": {ID: "aaaaaaaaaaaaaaaa", Name: "x", Hash: []byte{1, 2}},
		"no name":    {ID: "aaaaaaaaaaaaaaaa", Hash: payment.HashAPIKey("x")},
		"control":    {ID: "aaaaaaaaaaaaaaaa", Name: "a\x00b", Hash: payment.HashAPIKey("x")},
	} {
		if err := s.CreateAPIKey(ctx, &k); !errors.Is(err, payment.ErrInvalid) {
			t.Errorf("%s: CreateAPIKey: %v, want ErrInvalid", name, err)
		}
	}
	if keys, err := s.ListAPIKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("invalid keys were stored: %v, %v", keys, err)
	}
}

func testAPIKeyRevoke(t *testing.T, s payment.APIKeyStore) {
	ctx := context.Background()
	_, k := newKey(t, s, "one")
	_, other := newKey(t, s, "other")
	at := time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.FixedZone("CST", 8*3600))
	if err := s.RevokeAPIKey(ctx, k.ID, at); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	got, err := s.GetAPIKey(ctx, k.ID)
	if err != nil || !got.Revoked() || !got.RevokedAt.Equal(at) || got.RevokedAt.Location() != time.UTC {
		t.Fatalf("after revoking: %+v, %v; want RevokedAt %v in UTC", got, err, at)
	}
	if err := s.RevokeAPIKey(ctx, k.ID, at.Add(time.Hour)); !errors.Is(err, payment.ErrRevoked) {
		t.Errorf("revoking twice: %v, want ErrRevoked", err)
	}
	if got, _ := s.GetAPIKey(ctx, k.ID); !got.RevokedAt.Equal(at) {
		t.Errorf("revoking twice moved RevokedAt to %v", got.RevokedAt)
	}
	if err := s.RevokeAPIKey(ctx, "aaaaaaaaaaaaaaaa", at); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("revoking an unknown key: %v, want ErrNotFound", err)
	}
	if got, _ := s.GetAPIKey(ctx, other.ID); got.Revoked() {
		t.Error("revoking one key revoked another")
	}
}

func testAPIKeyAuthenticate(t *testing.T, s payment.APIKeyStore) {
	ctx := context.Background()
	secret, k := newKey(t, s, "one")
	got, err := payment.Authenticate(ctx, s, secret)
	if err != nil || got.ID != k.ID {
		t.Fatalf("Authenticate: %v, %v", got, err)
	}
	// The right id with another secret of the right form.
	forged := secret[:len(secret)-1] + map[bool]string{true: "a", false: "b"}[secret[len(secret)-1] != 'a']
	for _, bad := range []string{"", "zk_", forged, "Bearer " + secret, secret + " "} {
		if _, err := payment.Authenticate(ctx, s, bad); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("Authenticate(%q): %v, want ErrNotFound", bad, err)
		}
	}
	if err := s.RevokeAPIKey(ctx, k.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := payment.Authenticate(ctx, s, secret); !errors.Is(err, payment.ErrRevoked) {
		t.Errorf("Authenticate with a revoked key: %v, want ErrRevoked", err)
	}
}
