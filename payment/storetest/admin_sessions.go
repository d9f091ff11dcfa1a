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

// adminSessionHash returns a hash naming a test session: b repeated.
func adminSessionHash(b byte) []byte { return bytes.Repeat([]byte{b}, payment.AdminSessionHashLen) }

// revoked reports whether the session of hash is revoked, failing the
// test on error.
func revoked(t *testing.T, s payment.Store, hash []byte) bool {
	t.Helper()
	ok, err := s.AdminSessionRevoked(context.Background(), hash)
	if err != nil {
		t.Fatalf("AdminSessionRevoked: %v", err)
	}
	return ok
}

// testAdminSessions: a revoked session is found, another is not;
// revoking again (also concurrently) is no error and keeps the first
// expiry; a hash of the wrong length is ErrInvalid and stores nothing;
// the purge deletes exactly the revocations that expired before its time.
func testAdminSessions(t *testing.T, s payment.Store) {
	ctx := context.Background()
	t0 := baseTime()
	a, b, c := adminSessionHash(0xa1), adminSessionHash(0xb2), adminSessionHash(0xc3)

	if revoked(t, s, a) {
		t.Fatal("a session is revoked before any revocation")
	}
	if err := s.RevokeAdminSession(ctx, a, t0); err != nil {
		t.Fatalf("RevokeAdminSession: %v", err)
	}
	if !revoked(t, s, a) || revoked(t, s, b) {
		t.Fatalf("after revoking a: a %v, b %v; want true, false", revoked(t, s, a), revoked(t, s, b))
	}

	// Again, from many callers at once (logging out twice, two tabs): no
	// error, and the first expiry stays.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.RevokeAdminSession(ctx, a, t0.Add(time.Duration(i+5)*time.Hour))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("revoking again: %v", err)
		}
	}

	for _, bad := range [][]byte{nil, a[:16], append(append([]byte(nil), a...), 0)} {
		if err := s.RevokeAdminSession(ctx, bad, t0); !errors.Is(err, payment.ErrInvalid) {
			t.Errorf("RevokeAdminSession(%d bytes) = %v, want ErrInvalid", len(bad), err)
		}
		if revoked(t, s, bad) {
			t.Errorf("a hash of %d bytes was stored", len(bad))
		}
	}

	if err := s.RevokeAdminSession(ctx, b, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAdminSession(ctx, c, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// At t0+1h: a (expired at t0, kept despite the later revocations) goes;
	// c, which expires exactly then, and b stay.
	n, err := s.PurgeAdminSessionRevocations(ctx, t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PurgeAdminSessionRevocations = %d, %v; want 1", n, err)
	}
	if revoked(t, s, a) || !revoked(t, s, b) || !revoked(t, s, c) {
		t.Errorf("after the purge: a %v, b %v, c %v; want false, true, true", revoked(t, s, a), revoked(t, s, b), revoked(t, s, c))
	}
	if n, err := s.PurgeAdminSessionRevocations(ctx, t0.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("second purge = %d, %v; want 0", n, err)
	}
	if n, err := s.PurgeAdminSessionRevocations(ctx, t0.Add(3*time.Hour)); err != nil || n != 2 {
		t.Errorf("purge of all = %d, %v; want 2", n, err)
	}
}
