package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"zhifu/internal/httpapi"
	"zhifu/internal/testclock"
)

// TestAuth: every /v1 route wants a valid key; a revoked key is refused
// with its own code once the key cache's DefaultKeyCacheTTL has passed
// (until then, on this instance, it still works, as documented); a wrong
// secret for a cached key's id is refused at once; health and readiness
// want none.
func TestAuth(t *testing.T) {
	t.Parallel()
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			clock := testclock.New(time.Now())
			e := newEnv(t, st.open(t), func(c *httpapi.Config) { c.Now = clock.Now })
			p := e.create(`{"subject":"s","amount":"1.00","channel":"page"}`)
			secret, id := e.newKey("to revoke")
			bearer := map[string]string{"Authorization": "Bearer " + secret}
			wrong := map[string]string{"Authorization": "Bearer " + secret[:len(secret)-1] + "x"}
			get := req{method: "GET", path: "/v1/payments/" + p.str("id"), headers: bearer}
			e.want(e.do(get), http.StatusOK, "")
			e.want(e.do(req{method: "GET", path: get.path, headers: wrong}), http.StatusUnauthorized, "invalid_api_key")
			if err := e.store.RevokeAPIKey(context.Background(), id, time.Time{}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(httpapi.DefaultKeyCacheTTL - time.Millisecond)
			e.want(e.do(get), http.StatusOK, "") // cached: within the documented bound
			e.want(e.do(req{method: "GET", path: get.path, headers: wrong}), http.StatusUnauthorized, "invalid_api_key")
			clock.Advance(time.Millisecond)
			for _, r := range []req{
				{method: "GET", path: "/v1/payments"},
				{method: "GET", path: "/v1/payments/" + p.str("id")},
				{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":"1.00","channel":"page"}`},
				{method: "POST", path: "/v1/payments/" + p.str("id") + "/close"},
			} {
				r.headers = bearer
				e.want(e.do(r), http.StatusUnauthorized, "api_key_revoked")
				r.headers = map[string]string{"Authorization": ""}
				e.want(e.do(r), http.StatusUnauthorized, "missing_api_key")
				r.headers = wrong
				e.want(e.do(r), http.StatusUnauthorized, "invalid_api_key")
			}
			if n := e.countOrders(); n != 1 {
				t.Fatalf("%d orders, want 1", n)
			}
			if s, _ := e.store.GetOrder(context.Background(), p.str("id")); s.Status != "pending" {
				t.Fatalf("the revoked key closed the order: %s", s.Status)
			}
			if strings.Contains(e.logs.String(), secret) {
				t.Fatal("the revoked secret is in the log")
			}
			if !strings.Contains(e.logs.String(), id) {
				t.Error("the revoked key's id is not in the log")
			}
		})
	}
}

// TestKeyCacheTTLChecked: a KeyCacheTTL above a minute is refused.
func TestKeyCacheTTLChecked(t *testing.T) {
	_, err := httpapi.New(httpapi.Config{KeyCacheTTL: 2 * time.Minute})
	if err == nil || !strings.Contains(err.Error(), "KeyCacheTTL") {
		t.Fatalf("New with a KeyCacheTTL of 2m: %v, want an error naming KeyCacheTTL", err)
	}
}
