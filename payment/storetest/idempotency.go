package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"zhifu/payment"
)

// RunIdempotency runs the conformance tests of [payment.IdempotencyStore]
// against the stores open returns, which must implement it.
func RunIdempotency(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s payment.IdempotencyStore)
	}{
		{"IdempotencyClaimComplete", testIdemClaimComplete},
		{"IdempotencyConcurrentClaims", testIdemConcurrentClaims},
		{"IdempotencyExpiredAndStale", testIdemExpiredAndStale},
		{"IdempotencyRelease", testIdemRelease},
		{"IdempotencyPurge", testIdemPurge},
		{"IdempotencyInvalid", testIdemInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			idem, ok := s.(payment.IdempotencyStore)
			if !ok {
				t.Fatalf("%T does not implement payment.IdempotencyStore", s)
			}
			tt.fn(t, idem)
		})
	}
}

// idemRecord returns a new record of the key, for a request with body.
func idemRecord(apiKey, key, body string, at time.Time) *payment.IdempotencyRecord {
	return &payment.IdempotencyRecord{
		APIKeyID: apiKey, Key: key, CreatedAt: at,
		RequestHash: payment.HashIdempotentRequest("POST", "/v1/payments", []byte(body)),
	}
}

// claim claims r with nothing expired or stale.
func claim(t *testing.T, s payment.IdempotencyStore, r *payment.IdempotencyRecord) *payment.IdempotencyRecord {
	t.Helper()
	got, err := s.ClaimIdempotencyKey(context.Background(), payment.IdempotencyClaim{Record: r})
	if err != nil {
		t.Fatalf("ClaimIdempotencyKey: %v", err)
	}
	return got
}

func testIdemClaimComplete(t *testing.T, s payment.IdempotencyStore) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	r := idemRecord("key1", "k-1", `{"a":1}`, at)
	if got := claim(t, s, r); got != nil {
		t.Fatalf("first claim returned %+v, want nil (claimed)", got)
	}
	// A second claim, with another body, sees the first in progress.
	got := claim(t, s, idemRecord("key1", "k-1", `{"a":2}`, at.Add(time.Second)))
	if got == nil || got.Done() || !bytes.Equal(got.RequestHash, r.RequestHash) || !got.CreatedAt.Equal(at) {
		t.Fatalf("second claim = %+v, want the first, in progress", got)
	}
	// Another API key has its own keys.
	if got := claim(t, s, idemRecord("key2", "k-1", `{"a":1}`, at)); got != nil {
		t.Fatalf("the same key of another API key: %+v, want claimed", got)
	}
	body := []byte(`{"id":"ord_1"}`)
	if err := s.CompleteIdempotencyKey(ctx, "key1", "k-1", 201, body); err != nil {
		t.Fatalf("CompleteIdempotencyKey: %v", err)
	}
	got = claim(t, s, idemRecord("key1", "k-1", `{"a":1}`, at.Add(time.Minute)))
	if got == nil || got.Status != 201 || !bytes.Equal(got.Body, body) || got.APIKeyID != "key1" || got.Key != "k-1" {
		t.Fatalf("claim after completion = %+v, want the answer 201 %s", got, body)
	}
	if err := s.CompleteIdempotencyKey(ctx, "key1", "k-1", 500, nil); !errors.Is(err, payment.ErrConflict) {
		t.Errorf("completing twice: %v, want ErrConflict", err)
	}
	if err := s.CompleteIdempotencyKey(ctx, "key1", "nope", 200, nil); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("completing an unknown key: %v, want ErrNotFound", err)
	}
	if got := claim(t, s, idemRecord("key1", "k-1", "", at)); got.Status != 201 {
		t.Errorf("the answer changed: %+v", got)
	}
}

func testIdemConcurrentClaims(t *testing.T, s payment.IdempotencyStore) {
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.ClaimIdempotencyKey(context.Background(), payment.IdempotencyClaim{
				Record: idemRecord("key1", "same", string(rune('a'+i)), time.Time{}),
			})
			if err != nil {
				t.Errorf("claim %d: %v", i, err)
				return
			}
			if got == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d of %d concurrent claims won, want exactly 1", won, n)
	}
}

func testIdemExpiredAndStale(t *testing.T, s payment.IdempotencyStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	// Done, and not yet expired: kept even when in-progress ones are stale.
	claim(t, s, idemRecord("k", "done", "1", t0))
	if err := s.CompleteIdempotencyKey(ctx, "k", "done", 200, []byte("x")); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimIdempotencyKey(ctx, payment.IdempotencyClaim{
		Record: idemRecord("k", "done", "2", t0.Add(time.Hour)), ExpiredBefore: t0, StaleBefore: t0.Add(time.Minute),
	})
	if err != nil || got == nil || got.Status != 200 {
		t.Fatalf("claiming a done key that is stale but not expired = %+v, %v; want the answer", got, err)
	}
	// Expired: replaced by the new claim.
	r := idemRecord("k", "done", "3", t0.Add(25*time.Hour))
	got, err = s.ClaimIdempotencyKey(ctx, payment.IdempotencyClaim{Record: r, ExpiredBefore: t0.Add(time.Hour)})
	if err != nil || got != nil {
		t.Fatalf("claiming an expired key = %+v, %v; want claimed", got, err)
	}
	if got := claim(t, s, idemRecord("k", "done", "4", t0)); got == nil || got.Done() || !bytes.Equal(got.RequestHash, r.RequestHash) {
		t.Fatalf("after replacing, the record is %+v, want the new claim in progress", got)
	}
	// In progress and stale: replaced; in progress and fresh: kept.
	claim(t, s, idemRecord("k", "busy", "1", t0))
	got, err = s.ClaimIdempotencyKey(ctx, payment.IdempotencyClaim{Record: idemRecord("k", "busy", "1", t0.Add(time.Second)), StaleBefore: t0})
	if err != nil || got == nil {
		t.Fatalf("claiming a fresh in-progress key = %+v, %v; want it returned", got, err)
	}
	got, err = s.ClaimIdempotencyKey(ctx, payment.IdempotencyClaim{Record: idemRecord("k", "busy", "1", t0.Add(time.Hour)), StaleBefore: t0.Add(time.Minute)})
	if err != nil || got != nil {
		t.Fatalf("claiming a stale in-progress key = %+v, %v; want claimed", got, err)
	}
}

func testIdemRelease(t *testing.T, s payment.IdempotencyStore) {
	ctx := context.Background()
	claim(t, s, idemRecord("k", "a", "1", time.Time{}))
	if err := s.ReleaseIdempotencyKey(ctx, "k", "a"); err != nil {
		t.Fatalf("ReleaseIdempotencyKey: %v", err)
	}
	if got := claim(t, s, idemRecord("k", "a", "2", time.Time{})); got != nil {
		t.Fatalf("after release, claim = %+v, want claimed", got)
	}
	if err := s.CompleteIdempotencyKey(ctx, "k", "a", 201, []byte("y")); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseIdempotencyKey(ctx, "k", "a"); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, idemRecord("k", "a", "3", time.Time{})); got == nil || got.Status != 201 {
		t.Fatalf("release deleted a done record: %+v", got)
	}
	if err := s.ReleaseIdempotencyKey(ctx, "k", "unknown"); err != nil {
		t.Errorf("releasing an unknown key: %v", err)
	}
}

func testIdemPurge(t *testing.T, s payment.IdempotencyStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	claim(t, s, idemRecord("k", "old", "1", t0))
	claim(t, s, idemRecord("k", "new", "1", t0.Add(time.Hour)))
	n, err := s.PurgeIdempotencyKeys(ctx, t0.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("PurgeIdempotencyKeys = %d, %v; want 1", n, err)
	}
	if got := claim(t, s, idemRecord("k", "old", "2", t0)); got != nil {
		t.Error("the purged key is still there")
	}
	if got := claim(t, s, idemRecord("k", "new", "2", t0)); got == nil {
		t.Error("the newer key was purged")
	}
}

func testIdemInvalid(t *testing.T, s payment.IdempotencyStore) {
	ctx := context.Background()
	for name, r := range map[string]*payment.IdempotencyRecord{
		"nil":        nil,
		"no api key": idemRecord("", "a", "", time.Time{}),
		"empty key":  idemRecord("k", "", "", time.Time{}),
		"space":      idemRecord("k", "a b", "", time.Time{}),
		"long":       idemRecord("k", string(bytes.Repeat([]byte("a"), 256)), "", time.Time{}),
		"no hash":    {APIKeyID: "k", Key: "a"},
	} {
		if _, err := s.ClaimIdempotencyKey(ctx, payment.IdempotencyClaim{Record: r}); !errors.Is(err, payment.ErrInvalid) {
			t.Errorf("%s: claim: %v, want ErrInvalid", name, err)
		}
	}
	if err := s.CompleteIdempotencyKey(ctx, "k", "a", 0, nil); !errors.Is(err, payment.ErrInvalid) {
		t.Errorf("completing with status 0: %v, want ErrInvalid", err)
	}
}
