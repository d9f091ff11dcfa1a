package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// hookList is the answer of GET /v1/payments/{id}/webhooks.
type hookList struct {
	Object string
	Data   []struct {
		ID           string
		Object       string
		PaymentID    string `json:"payment_id"`
		Type         string
		Status       string
		AttemptCount int     `json:"attempt_count"`
		CreatedAt    string  `json:"created_at"`
		DeliveredAt  *string `json:"delivered_at"`
		Attempts     []hookAttempt
	}
}

// hookAttempt is a webhook attempt object.
type hookAttempt struct {
	Object      string
	EventID     string `json:"event_id"`
	Number      int
	Manual      bool
	Delivered   bool
	AttemptedAt string `json:"attempted_at"`
	StatusCode  *int   `json:"status_code"`
	Error       string
}

// decodeAs decodes the answer's body into v.
func (e *env) decodeAs(a answer, v any) {
	e.t.Helper()
	if err := json.Unmarshal(a.raw, v); err != nil {
		e.t.Fatalf("%v:\n%s", err, a.raw)
	}
}

// TestWebhooksAPI: a paid payment's webhook event is listed with its
// failed automatic attempt; a resend through the API, the receiver fixed,
// is delivered and recorded as a manual attempt; a retried request gives
// the same answer and sends nothing more; a failed resend says so and
// leaves the event delivered; unknown events and bad bodies change
// nothing; the secret appears in no answer.
func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			store := st.open(t)
			rcv := newHookReceiver(t, true)
			testWebhooksAPI(t, newHookEnv(t, store, rcv), rcv)
		})
	}
}

func testWebhooksAPI(t *testing.T, e *env, rcv *hookReceiver) {
	var answers [][]byte
	do := func(r req) answer {
		t.Helper()
		a := e.do(r)
		answers = append(answers, a.raw)
		return a
	}
	p := e.create(`{"subject":"hooked","amount":"8.00","channel":"precreate"}`)
	id := p.str("id")
	e.pay(p.str("out_trade_no"))
	if got := e.hooks.nextAttempt(t); got != "failed" {
		t.Fatalf("the automatic attempt: %s, want failed (given up after one attempt)", got)
	}

	a := do(req{method: "GET", path: "/v1/payments/" + id + "/webhooks"})
	e.want(a, http.StatusOK, "")
	var l hookList
	e.decodeAs(a, &l)
	if l.Object != "list" || len(l.Data) != 1 {
		t.Fatalf("webhooks: %s", a.raw)
	}
	ev := l.Data[0]
	if !strings.HasPrefix(ev.ID, "evt_") || ev.Object != "webhook_event" || ev.PaymentID != id || ev.Type != "payment.paid" ||
		ev.Status != "failed" || ev.AttemptCount != 1 || ev.DeliveredAt != nil || ev.CreatedAt == "" || len(ev.Attempts) != 1 {
		t.Fatalf("event: %s", a.raw)
	}
	if at := ev.Attempts[0]; at.Number != 1 || at.Manual || at.Delivered || at.StatusCode == nil || *at.StatusCode != 500 ||
		!strings.Contains(at.Error, "500") || at.EventID != ev.ID || at.AttemptedAt == "" {
		t.Fatalf("first attempt: %s", a.raw)
	}

	rcv.failing.Store(false)
	key := "resend-" + ev.ID
	a = do(req{method: "POST", path: "/v1/webhooks/" + ev.ID + "/resend", idemKey: key})
	e.want(a, http.StatusCreated, "")
	var at hookAttempt
	e.decodeAs(a, &at)
	if at.Object != "webhook_attempt" || at.Number != 2 || !at.Manual || !at.Delivered || at.StatusCode == nil || *at.StatusCode != 200 || at.Error != "" {
		t.Fatalf("resend: %s", a.raw)
	}
	if got := e.hooks.nextAttempt(t); got != "delivered" {
		t.Fatalf("the resend recorded %s", got)
	}
	first := a.raw
	a = do(req{method: "POST", path: "/v1/webhooks/" + ev.ID + "/resend", idemKey: key})
	if a.status != http.StatusCreated || a.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(a.raw, first) {
		t.Fatalf("retried resend: %d %q\n%s", a.status, a.header.Get("Idempotent-Replayed"), a.raw)
	}
	if n := rcv.count(ev.ID); n != 2 {
		t.Fatalf("the receiver got %d requests of the event, want 2", n)
	}

	rcv.failing.Store(true)
	a = do(req{method: "POST", path: "/v1/webhooks/" + ev.ID + "/resend", body: "{}"})
	e.want(a, http.StatusCreated, "")
	e.decodeAs(a, &at)
	if at.Number != 3 || !at.Manual || at.Delivered || at.StatusCode == nil || *at.StatusCode != 500 || !strings.Contains(at.Error, "500") {
		t.Fatalf("failed resend: %s", a.raw)
	}
	e.hooks.nextAttempt(t)

	a = do(req{method: "GET", path: "/v1/payments/" + id + "/webhooks"})
	e.want(a, http.StatusOK, "")
	e.decodeAs(a, &l)
	ev = l.Data[0]
	if ev.Status != "delivered" || ev.AttemptCount != 3 || ev.DeliveredAt == nil || len(ev.Attempts) != 3 ||
		ev.Attempts[0].Manual || !ev.Attempts[1].Manual || !ev.Attempts[1].Delivered || ev.Attempts[2].Delivered {
		t.Fatalf("after the resends: %s", a.raw)
	}

	for _, c := range []struct {
		name         string
		r            req
		status       int
		code, reason string
	}{
		{"unknown event", req{method: "POST", path: "/v1/webhooks/evt_NOSUCHEVENT_1/resend"}, http.StatusNotFound, "webhook_event_not_found", "GET /v1/payments/{id}/webhooks"},
		{"a field", req{method: "POST", path: "/v1/webhooks/" + ev.ID + "/resend", body: `{"url":"https://evil.example"}`}, http.StatusBadRequest, "unknown_field", "url"},
		{"not JSON", req{method: "POST", path: "/v1/webhooks/" + ev.ID + "/resend", body: `now`}, http.StatusBadRequest, "invalid_json", ""},
		{"no idempotency key", req{method: "POST", path: "/v1/webhooks/" + ev.ID + "/resend", headers: map[string]string{"Idempotency-Key": ""}}, http.StatusBadRequest, "idempotency_key_required", ""},
		{"GET of resend", req{method: "GET", path: "/v1/webhooks/" + ev.ID + "/resend"}, http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{"unknown payment", req{method: "GET", path: "/v1/payments/ord_NOSUCHPAYMENT/webhooks"}, http.StatusNotFound, "payment_not_found", ""},
		{"no API key", req{method: "GET", path: "/v1/payments/" + id + "/webhooks", headers: map[string]string{"Authorization": ""}}, http.StatusUnauthorized, "missing_api_key", ""},
	} {
		a := do(c.r)
		e.want(a, c.status, c.code)
		if !strings.Contains(string(a.raw), c.reason) {
			t.Errorf("%s: the message does not say %q: %s", c.name, c.reason, a.raw)
		}
	}
	if n := rcv.count(ev.ID); n != 3 {
		t.Errorf("the receiver got %d requests of the event, want 3: a refused request sent one", n)
	}
	for _, raw := range answers {
		if bytes.Contains(raw, []byte(hookSecret)) {
			t.Fatalf("an answer holds the webhook secret: %s", raw)
		}
		if bytes.Contains(raw, []byte("v1=")) {
			t.Fatalf("an answer holds a signature: %s", raw)
		}
	}
}

// TestWebhooksNotConfigured: without Config.Webhooks both routes say what
// to configure, and nothing else changes.
func TestWebhooksNotConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stores()[0].open(t))
	p := e.create(`{"subject":"no hooks","amount":"1.00","channel":"page"}`)
	for _, r := range []req{
		{method: "GET", path: "/v1/payments/" + p.str("id") + "/webhooks"},
		{method: "POST", path: "/v1/webhooks/evt_x_1/resend"},
	} {
		a := e.do(r)
		e.want(a, http.StatusConflict, "webhooks_not_configured")
		if !strings.Contains(string(a.raw), "set the webhook URL and secret") {
			t.Errorf("%s %s: %s", r.method, r.path, a.raw)
		}
	}
}
