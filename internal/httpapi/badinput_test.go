package httpapi_test

import (
	"context"
	"strings"
	"testing"
)

// TestCreateBadInput sends POST /v1/payments bodies of every kind of
// wrong: each is answered with its status, code and field, and creates
// nothing.
func TestCreateBadInput(t *testing.T) {
	big := `{"subject":"` + strings.Repeat("a", 70<<10) + `","amount":"1.00","channel":"page"}`
	cases := []struct {
		name, body  string
		status      int
		code, field string
		headers     map[string]string
	}{
		{"amount 0.001", `{"subject":"s","amount":"0.001","channel":"page"}`, 400, "invalid_amount", "amount", nil},
		{"amount -1", `{"subject":"s","amount":"-1","channel":"page"}`, 400, "invalid_amount", "amount", nil},
		{"amount 1e3", `{"subject":"s","amount":"1e3","channel":"page"}`, 400, "invalid_amount", "amount", nil},
		{"amount 0", `{"subject":"s","amount":"0","channel":"page"}`, 400, "invalid_amount", "amount", nil},
		{"amount too big", `{"subject":"s","amount":"100000000.01","channel":"page"}`, 400, "invalid_amount", "amount", nil},
		{"amount spaces", `{"subject":"s","amount":" 1.00","channel":"page"}`, 400, "invalid_amount", "amount", nil},
		{"amount as number", `{"subject":"s","amount":12.34,"channel":"page"}`, 400, "invalid_type", "amount", nil},
		{"amount as bool", `{"subject":"s","amount":true,"channel":"page"}`, 400, "invalid_type", "amount", nil},
		{"amount missing", `{"subject":"s","channel":"page"}`, 400, "missing_field", "amount", nil},
		{"subject missing", `{"amount":"1.00","channel":"page"}`, 400, "missing_field", "subject", nil},
		{"subject as number", `{"subject":5,"amount":"1.00","channel":"page"}`, 400, "invalid_type", "subject", nil},
		{"subject too long", `{"subject":"` + strings.Repeat("长", 257) + `","amount":"1.00","channel":"page"}`, 400, "invalid_field", "subject", nil},
		{"subject control", `{"subject":"a\u0000b","amount":"1.00","channel":"page"}`, 400, "invalid_field", "subject", nil},
		{"channel missing", `{"subject":"s","amount":"1.00"}`, 400, "missing_field", "channel", nil},
		{"channel unknown", `{"subject":"s","amount":"1.00","channel":"bitcoin"}`, 400, "invalid_field", "channel", nil},
		{"return_url relative", `{"subject":"s","amount":"1.00","channel":"page","return_url":"/thanks"}`, 400, "invalid_field", "return_url", nil},
		{"return_url query", `{"subject":"s","amount":"1.00","channel":"page","return_url":"https://a.example/?x=1"}`, 400, "invalid_field", "return_url", nil},
		{"return_url scheme", `{"subject":"s","amount":"1.00","channel":"page","return_url":"javascript:alert(1)"}`, 400, "invalid_field", "return_url", nil},
		{"out_trade_no chars", `{"subject":"s","amount":"1.00","channel":"page","out_trade_no":"a-b"}`, 400, "invalid_field", "out_trade_no", nil},
		{"out_trade_no long", `{"subject":"s","amount":"1.00","channel":"page","out_trade_no":"` + strings.Repeat("a", 65) + `"}`, 400, "invalid_field", "out_trade_no", nil},
		{"metadata not strings", `{"subject":"s","amount":"1.00","channel":"page","metadata":{"a":1}}`, 400, "invalid_type", "metadata", nil},
		{"metadata array", `{"subject":"s","amount":"1.00","channel":"page","metadata":["a"]}`, 400, "invalid_type", "metadata", nil},
		{"metadata reserved", `{"subject":"s","amount":"1.00","channel":"page","metadata":{"zhifu.return_url":"x"}}`, 400, "invalid_field", "metadata", nil},
		{"metadata value long", `{"subject":"s","amount":"1.00","channel":"page","metadata":{"a":"` + strings.Repeat("v", 501) + `"}}`, 400, "invalid_field", "metadata", nil},
		{"expires_in short", `{"subject":"s","amount":"1.00","channel":"page","expires_in":60}`, 400, "invalid_field", "expires_in", nil},
		{"expires_in fraction", `{"subject":"s","amount":"1.00","channel":"page","expires_in":600.5}`, 400, "invalid_type", "expires_in", nil},
		{"expires_in string", `{"subject":"s","amount":"1.00","channel":"page","expires_in":"600"}`, 400, "invalid_type", "expires_in", nil},
		{"unknown field", `{"subject":"s","amount":"1.00","channel":"page","amont":"1.00"}`, 400, "unknown_field", "amont", nil},
		{"bad JSON", `{"subject":"s",`, 400, "invalid_json", "", nil},
		{"not JSON", `subject=s&amount=1.00`, 400, "invalid_json", "", nil},
		{"array", `[{"subject":"s","amount":"1.00","channel":"page"}]`, 400, "invalid_json", "", nil},
		{"null", `null`, 400, "invalid_json", "", nil},
		{"empty", ``, 400, "invalid_json", "", nil},
		{"trailing garbage", `{"subject":"s","amount":"1.00","channel":"page"} x`, 400, "invalid_json", "", nil},
		{"two objects", `{"subject":"s","amount":"1.00","channel":"page"}{}`, 400, "invalid_json", "", nil},
		{"not UTF-8", "{\"subject\":\"\xff\",\"amount\":\"1.00\",\"channel\":\"page\"}", 400, "invalid_json", "", nil},
		{"huge body", big, 413, "body_too_large", "", nil},
		{"form content type", `{"subject":"s","amount":"1.00","channel":"page"}`, 415, "unsupported_media_type", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		{"no content type", `{"subject":"s","amount":"1.00","channel":"page"}`, 415, "unsupported_media_type", "", map[string]string{"Content-Type": ""}},
		{"no idempotency key", `{"subject":"s","amount":"1.00","channel":"page"}`, 400, "idempotency_key_required", "", map[string]string{"Idempotency-Key": ""}},
		{"bad idempotency key", `{"subject":"s","amount":"1.00","channel":"page"}`, 400, "invalid_idempotency_key", "", map[string]string{"Idempotency-Key": "a b"}},
		{"no API key", `{"subject":"s","amount":"1.00","channel":"page"}`, 401, "missing_api_key", "", map[string]string{"Authorization": ""}},
		{"basic auth", `{"subject":"s","amount":"1.00","channel":"page"}`, 401, "missing_api_key", "", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
		{"bad API key", `{"subject":"s","amount":"1.00","channel":"page"}`, 401, "invalid_api_key", "", map[string]string{"Authorization": "Bearer zk_nope"}},
		{"forged API key", `{"subject":"s","amount":"1.00","channel":"page"}`, 401, "invalid_api_key", "", map[string]string{"Authorization": "Bearer zk_aaaaaaaaaaaaaaaa_" + strings.Repeat("b", 52)}},
	}
	onStores(t, func(t *testing.T, e *env) {
		for _, c := range cases {
			a := e.do(req{method: "POST", path: "/v1/payments", body: c.body, headers: c.headers})
			if a.status != c.status || a.errCode() != c.code || a.errField() != c.field {
				t.Errorf("%s: answer %d %q field %q, want %d %q field %q:\n%.300s", c.name, a.status, a.errCode(), a.errField(), c.status, c.code, c.field, a.raw)
			}
			if m, _ := a.json["error"].(map[string]any); m == nil || m["message"] == "" {
				t.Errorf("%s: no error message: %.300s", c.name, a.raw)
			}
			if c.status == 401 && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: no WWW-Authenticate", c.name)
			}
		}
		if n := e.countOrders(); n != 0 {
			t.Fatalf("bad requests created %d orders", n)
		}
	})
}

// TestAmountMessage pins the message of the commonest mistake.
func TestAmountMessage(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		a := e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":"0.001","channel":"page"}`})
		want := `amount: "0.001" has more than 2 decimals; send yuan with at most 2 decimals, e.g. "12.34"`
		if msg := a.json["error"].(map[string]any)["message"]; msg != want {
			t.Fatalf("message %q, want %q", msg, want)
		}
		a = e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":12.34,"channel":"page"}`})
		if msg := a.json["error"].(map[string]any)["message"].(string); !strings.Contains(msg, `want a string of yuan such as "12.34", got a JSON number`) {
			t.Fatalf("message %q", msg)
		}
	})
}

// TestRefundBadInput: bad refunds are refused and store no refund.
func TestRefundBadInput(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		p := e.create(`{"subject":"s","amount":"3.00","channel":"precreate"}`)
		id := p.str("id")
		e.pay(p.str("out_trade_no"))
		for _, c := range []struct {
			name, path, body string
			status           int
			code, field      string
		}{
			{"amount 0.001", "/v1/payments/" + id + "/refunds", `{"amount":"0.001"}`, 400, "invalid_amount", "amount"},
			{"amount number", "/v1/payments/" + id + "/refunds", `{"amount":1}`, 400, "invalid_type", "amount"},
			{"amount missing", "/v1/payments/" + id + "/refunds", `{"reason":"x"}`, 400, "missing_field", "amount"},
			{"amount over", "/v1/payments/" + id + "/refunds", `{"amount":"3.01"}`, 422, "refund_exceeds_paid", "amount"},
			{"reason long", "/v1/payments/" + id + "/refunds", `{"amount":"1.00","reason":"` + strings.Repeat("r", 257) + `"}`, 400, "invalid_field", "reason"},
			{"out_request_no chars", "/v1/payments/" + id + "/refunds", `{"amount":"1.00","out_request_no":"a/b"}`, 400, "invalid_field", "out_request_no"},
			{"unknown field", "/v1/payments/" + id + "/refunds", `{"amount":"1.00","refund_all":true}`, 400, "unknown_field", "refund_all"},
			{"unknown payment", "/v1/payments/ord_NOPE/refunds", `{"amount":"1.00"}`, 404, "payment_not_found", ""},
		} {
			a := e.do(req{method: "POST", path: c.path, body: c.body})
			if a.status != c.status || a.errCode() != c.code || a.errField() != c.field {
				t.Errorf("%s: answer %d %q field %q, want %d %q field %q:\n%.300s", c.name, a.status, a.errCode(), a.errField(), c.status, c.code, c.field, a.raw)
			}
		}
		if n := e.countRefunds(id); n != 0 {
			t.Fatalf("bad refunds stored %d refunds", n)
		}
		// The same out_request_no for another amount: refused, one refund.
		e.want(e.do(req{method: "POST", path: "/v1/payments/" + id + "/refunds", body: `{"amount":"1.00","out_request_no":"R1"}`}), 201, "")
		e.want(e.do(req{method: "POST", path: "/v1/payments/" + id + "/refunds", body: `{"amount":"2.00","out_request_no":"R1"}`}), 409, "duplicate_out_request_no")
		if n := e.countRefunds(id); n != 1 {
			t.Fatalf("%d refunds stored, want 1", n)
		}
		if o, _ := e.store.GetOrder(context.Background(), id); o.RefundedAmount != 100 {
			t.Fatalf("refunded %v, want 1.00", o.RefundedAmount)
		}
	})
}

// TestRoutesAndParameters: unknown routes, wrong methods, unknown
// payments and bad listing parameters.
func TestRoutesAndParameters(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			method, path string
			status       int
			code, field  string
		}{
			{"GET", "/v1/nothing", 404, "not_found", ""},
			{"DELETE", "/v1/payments", 405, "method_not_allowed", ""},
			{"PUT", "/v1/payments/ord_X", 405, "method_not_allowed", ""},
			{"GET", "/v1/payments/ord_X", 404, "payment_not_found", ""},
			{"GET", "/v1/payments/ord_X/refunds", 404, "payment_not_found", ""},
			{"GET", "/v1/payments/ord_X/events", 404, "payment_not_found", ""},
			{"POST", "/v1/payments/ord_X/close", 404, "payment_not_found", ""},
			{"GET", "/v1/payments?status=lost", 400, "invalid_parameter", "status"},
			{"GET", "/v1/payments?limit=0", 400, "invalid_parameter", "limit"},
			{"GET", "/v1/payments?limit=101", 400, "invalid_parameter", "limit"},
			{"GET", "/v1/payments?limit=ten", 400, "invalid_parameter", "limit"},
			{"GET", "/v1/payments?created_from=yesterday", 400, "invalid_parameter", "created_from"},
			{"GET", "/v1/payments?created_from=2026-01-02T00:00:00Z&created_to=2026-01-01T00:00:00Z", 400, "invalid_parameter", "created_to"},
			{"GET", "/v1/payments?cursor=bogus", 400, "invalid_parameter", "cursor"},
			{"GET", "/v1/payments?sort=asc", 400, "invalid_parameter", "sort"},
			{"GET", "/v1/payments?limit=1&limit=2", 400, "invalid_parameter", "limit"},
		} {
			a := e.do(req{method: c.method, path: c.path})
			if a.status != c.status || a.errCode() != c.code || a.errField() != c.field {
				t.Errorf("%s %s: answer %d %q field %q, want %d %q %q:\n%.300s", c.method, c.path, a.status, a.errCode(), a.errField(), c.status, c.code, c.field, a.raw)
			}
		}
		if a := e.do(req{method: "DELETE", path: "/v1/payments"}); a.header.Get("Allow") != "GET, POST" {
			t.Errorf("Allow %q", a.header.Get("Allow"))
		}
	})
}
