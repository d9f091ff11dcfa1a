package payment_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"zhifu/payment"
)

func TestNewAPIKey(t *testing.T) {
	t.Parallel()
	secret, k, err := payment.NewAPIKey("shop")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "zk_"+k.ID+"_") || len(secret) != 3+16+1+52 {
		t.Fatalf("secret of the wrong form: %d characters", len(secret))
	}
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	if id, err := payment.APIKeyID(secret); err != nil || id != k.ID {
		t.Fatalf("APIKeyID = %q, %v; want %q", id, err, k.ID)
	}
	if !k.Matches(secret) || k.Matches(secret[:len(secret)-1]) || strings.Contains(string(k.Hash), secret) {
		t.Fatal("the hash does not match the secret alone")
	}
	secret2, k2, _ := payment.NewAPIKey("shop")
	if secret2 == secret || k2.ID == k.ID {
		t.Fatal("two keys alike")
	}
	for _, name := range []string{"", strings.Repeat("n", payment.MaxAPIKeyNameLen+1), "a\nb"} {
		if _, _, err := payment.NewAPIKey(name); !errors.Is(err, payment.ErrInvalid) {
			t.Errorf("NewAPIKey(%q): %v, want ErrInvalid", name, err)
		}
	}
}

func TestAPIKeyIDRefuses(t *testing.T) {
	t.Parallel()
	good, _, _ := payment.NewAPIKey("x")
	for _, s := range []string{"", "zk_", "zk__", good + "a", good[:len(good)-1], strings.ToUpper(good), "xk" + good[2:], strings.Replace(good, "_", "-", 2)} {
		if _, err := payment.APIKeyID(s); !errors.Is(err, payment.ErrInvalid) {
			t.Errorf("APIKeyID accepted a malformed key of %d characters", len(s))
		} else if len(s) > 4 && strings.Contains(err.Error(), s) {
			t.Error("the error repeats the secret")
		}
	}
}

// FuzzAPIKeyID: the key parser never panics, never repeats its input in
// an error, and accepts only ids of 16 base-32 characters.
func FuzzAPIKeyID(f *testing.F) {
	good, _, _ := payment.NewAPIKey("x")
	for _, s := range []string{good, "zk_", "zk_aaaaaaaaaaaaaaaa_", "Bearer " + good} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := payment.APIKeyID(s)
		if err != nil {
			if len(s) > 3 && strings.Contains(err.Error(), s) {
				t.Fatal("the error repeats the input")
			}
			return
		}
		if len(id) != 16 || !strings.HasPrefix(s, "zk_"+id+"_") {
			t.Fatalf("id %q of %q", id, s)
		}
	})
}

func TestIdempotencyKeyAndHash(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"a", "550e8400-e29b-41d4-a716-446655440000", strings.Repeat("k", payment.MaxIdempotencyKeyLen)} {
		if err := payment.CheckIdempotencyKey(k); err != nil {
			t.Errorf("CheckIdempotencyKey(%q): %v", k, err)
		}
	}
	for _, k := range []string{"", "a b", "é", "a\tb", strings.Repeat("k", payment.MaxIdempotencyKeyLen+1)} {
		if err := payment.CheckIdempotencyKey(k); !errors.Is(err, payment.ErrInvalid) {
			t.Errorf("CheckIdempotencyKey(%q): %v, want ErrInvalid", k, err)
		}
	}
	h := payment.HashIdempotentRequest("POST", "/v1/payments", []byte("{}"))
	for _, other := range [][]byte{
		payment.HashIdempotentRequest("POST", "/v1/payments", []byte("{ }")),
		payment.HashIdempotentRequest("POST", "/v1/payments/", []byte("{}")),
		// Moving bytes between parts changes the hash.
		payment.HashIdempotentRequest("POST", "/v1/payments{", []byte("}")),
	} {
		if string(other) == string(h) {
			t.Error("two requests share a hash")
		}
	}
}

func TestLatestMigration(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{"0001_init.sql": {}, "0003_api.sql": {}, "0002_x.sql": {}}
	if n, err := payment.LatestMigration(fsys); err != nil || n != 3 {
		t.Fatalf("LatestMigration = %d, %v; want 3", n, err)
	}
	for _, bad := range []fstest.MapFS{{}, {"init.sql": {}}, {"0001_init.txt": {}}} {
		if _, err := payment.LatestMigration(bad); err == nil {
			t.Errorf("LatestMigration(%v) succeeded", bad)
		}
	}
}
