package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAuth: every /v1 route wants a valid key; a revoked key is refused
// with its own code; health and readiness want none.
func TestAuth(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		p := e.create(`{"subject":"s","amount":"1.00","channel":"page"}`)
		secret, id := e.newKey("to revoke")
		bearer := map[string]string{"Authorization": "Bearer " + secret}
		e.want(e.do(req{method: "GET", path: "/v1/payments/" + p.str("id"), headers: bearer}), http.StatusOK, "")
		if err := e.store.RevokeAPIKey(context.Background(), id, time.Time{}); err != nil {
			t.Fatal(err)
		}
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
			r.headers = map[string]string{"Authorization": "Bearer " + secret[:len(secret)-1] + "x"}
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
