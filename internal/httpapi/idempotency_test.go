package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"

	"zhifu/payment"
)

// TestIdempotentRetry: a retry with the same key and body gets the first
// answer, byte for byte, and creates nothing twice; the same key with
// another body is 422 and creates nothing.
func TestIdempotentRetry(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		body := `{"subject":"s","amount":"1.00","channel":"precreate"}`
		first := e.do(req{method: "POST", path: "/v1/payments", body: body, idemKey: "order-1"})
		e.want(first, http.StatusCreated, "")
		again := e.do(req{method: "POST", path: "/v1/payments", body: body, idemKey: "order-1"})
		e.want(again, http.StatusCreated, "")
		if !bytes.Equal(first.raw, again.raw) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the retry answered\n%s\nnot the first answer\n%s", again.raw, first.raw)
		}
		other := e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":"2.00","channel":"precreate"}`, idemKey: "order-1"})
		e.want(other, http.StatusUnprocessableEntity, "idempotency_key_reused")
		// The same key on another route is another request too.
		e.want(e.do(req{method: "POST", path: "/v1/payments/" + first.str("id") + "/close", body: body, idemKey: "order-1"}), http.StatusUnprocessableEntity, "idempotency_key_reused")
		if n := e.countOrders(); n != 1 {
			t.Fatalf("%d orders, want 1", n)
		}
		// Another API key has keys of its own.
		secret, _ := e.newKey("second")
		a := e.do(req{method: "POST", path: "/v1/payments", body: body, idemKey: "order-1", headers: map[string]string{"Authorization": "Bearer " + secret}})
		e.want(a, http.StatusCreated, "")
		if a.str("id") == first.str("id") {
			t.Fatal("another API key got the first key's answer")
		}
		// A refused request (400) keeps nothing: corrected, the same key
		// works.
		e.want(e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":"1.001","channel":"page"}`, idemKey: "fixme"}), 400, "invalid_amount")
		e.want(e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":"1.01","channel":"page"}`, idemKey: "fixme"}), 201, "")
		if n := e.countOrders(); n != 3 {
			t.Fatalf("%d orders, want 3", n)
		}
	})
}

// TestIdempotentRefund: a retried refund refunds once.
func TestIdempotentRefund(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		p := e.create(`{"subject":"s","amount":"5.00","channel":"precreate"}`)
		e.pay(p.str("out_trade_no"))
		path := "/v1/payments/" + p.str("id") + "/refunds"
		a := e.do(req{method: "POST", path: path, body: `{"amount":"1.00"}`, idemKey: "refund-1"})
		e.want(a, 201, "")
		b := e.do(req{method: "POST", path: path, body: `{"amount":"1.00"}`, idemKey: "refund-1"})
		if !bytes.Equal(a.raw, b.raw) {
			t.Fatalf("retry answered %s, want %s", b.raw, a.raw)
		}
		if n := e.countRefunds(p.str("id")); n != 1 {
			t.Fatalf("%d refunds, want 1", n)
		}
		if o, _ := e.store.GetOrder(context.Background(), p.str("id")); o.RefundedAmount != 100 {
			t.Fatalf("refunded %v, want 1.00", o.RefundedAmount)
		}
	})
}

// TestIdempotencyInProgress: while a request with a key is being
// answered, the same key is 409 idempotency_in_progress and runs nothing.
// The request in flight is the key's claim, made through the store as
// the API makes it.
func TestIdempotencyInProgress(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		body := `{"subject":"s","amount":"1.00","channel":"page"}`
		claimed, err := e.store.ClaimIdempotencyKey(context.Background(), payment.IdempotencyClaim{Record: &payment.IdempotencyRecord{
			APIKeyID: e.keyID, Key: "busy", RequestHash: payment.HashIdempotentRequest("POST", "/v1/payments", []byte(body)),
		}})
		if err != nil || claimed != nil {
			t.Fatal(claimed, err)
		}
		a := e.do(req{method: "POST", path: "/v1/payments", body: body, idemKey: "busy"})
		e.want(a, http.StatusConflict, "idempotency_in_progress")
		if a.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		if n := e.countOrders(); n != 0 {
			t.Fatalf("%d orders, want 0", n)
		}
	})
}

// TestIdempotencyConcurrent sends one request with one key 20 times at
// once: one payment is created; every answer is that payment or 409.
func TestIdempotencyConcurrent(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		body := `{"subject":"s","amount":"1.00","channel":"page"}`
		const n = 20
		answers := make([]answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = e.do(req{method: "POST", path: "/v1/payments", body: body, idemKey: "same"})
			}()
		}
		wg.Wait()
		ids := map[string]bool{}
		for _, a := range answers {
			switch {
			case a.status == http.StatusCreated:
				ids[a.str("id")] = true
			case a.status == http.StatusConflict && a.errCode() == "idempotency_in_progress":
			default:
				t.Errorf("answer %d: %s", a.status, a.raw)
			}
		}
		if len(ids) != 1 {
			t.Errorf("answers name %d payments, want 1", len(ids))
		}
		if got := e.countOrders(); got != 1 {
			t.Fatalf("%d orders, want 1", got)
		}
	})
}
