package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update rewrites the golden answers in testdata/golden.
var update = flag.Bool("update", false, "rewrite the golden answers in testdata/golden")

// apiVarying are the fields whose values differ from run to run: the
// golden files hold a placeholder for them.
var apiVarying = map[string]bool{
	"id": true, "payment_id": true, "created_at": true, "updated_at": true, "expires_at": true,
	"paid_at": true, "closed_at": true, "settled_at": true, "trade_no": true, "buyer_id": true,
	"qr_code": true, "pay_url": true, "out_request_no": true, "next_cursor": true,
	"event_id": true, "attempted_at": true, "duration_ms": true, "last_attempt_at": true, "delivered_at": true,
}

// normalize replaces the values of apiVarying fields, at any depth.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if apiVarying[k] && val != nil {
				x[k] = "<" + k + ">"
			} else {
				x[k] = normalize(val)
			}
		}
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	}
	return v
}

// TestGolden pins the API's answers, which docs/api.md shows: a created
// payment, a paid one, a refund, a list, a payment's webhook events, and
// errors. Run with -update
// after a deliberate change and review the diff.
func TestGolden(t *testing.T) {
	t.Parallel()
	store := stores()[0].open(t)
	e := newHookEnv(t, store, newHookReceiver(t, false))
	p := e.create(`{"subject":"Coffee 咖啡","amount":"12.34","channel":"precreate","out_trade_no":"golden_1","metadata":{"cart":"c-42"}}`)
	id := p.str("id")
	golden := map[string]answer{"payment_created": p}
	e.pay("golden_1")
	e.hooks.nextAttempt(t)
	golden["webhooks_list"] = e.do(req{method: "GET", path: "/v1/payments/" + id + "/webhooks"})
	golden["payment_paid"] = e.do(req{method: "GET", path: "/v1/payments/" + id})
	golden["refund_created"] = e.do(req{method: "POST", path: "/v1/payments/" + id + "/refunds", body: `{"amount":"2.34","reason":"one cup less","out_request_no":"R1"}`})
	golden["refunds_list"] = e.do(req{method: "GET", path: "/v1/payments/" + id + "/refunds"})
	golden["error_invalid_amount"] = e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":"0.001","channel":"page"}`})
	golden["error_invalid_type"] = e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":12.34,"channel":"page"}`})
	golden["error_unknown_field"] = e.do(req{method: "POST", path: "/v1/payments", body: `{"subject":"s","amount":"1.00","channel":"page","currency":"CNY"}`})
	golden["error_refund_exceeds"] = e.do(req{method: "POST", path: "/v1/payments/" + id + "/refunds", body: `{"amount":"10.01"}`})
	golden["error_webhook_event_not_found"] = e.do(req{method: "POST", path: "/v1/webhooks/evt_NOSUCHEVENT_1/resend"})
	golden["error_missing_api_key"] = e.do(req{method: "GET", path: "/v1/payments", headers: map[string]string{"Authorization": ""}})
	for name, a := range golden {
		var v any
		if err := json.Unmarshal(a.raw, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"status": a.status, "body": normalize(v)}); err != nil {
			t.Fatal(err)
		}
		got := buf.Bytes()
		path := filepath.Join("testdata", "golden", name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to write it)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from %s:\n%s", name, path, got)
		}
	}
}
