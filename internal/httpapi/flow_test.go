package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"zhifu/payment"
)

// TestFlow is the whole life of a payment through the API: created, paid
// in the sandbox, told by Alipay's notify, seen paid, refunded in part,
// its refunds and audit trail listed.
func TestFlow(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		created := e.create(`{"subject":"Coffee 咖啡","amount":"12.34","channel":"precreate","metadata":{"cart":"c-42"},"out_trade_no":"shop_order_1"}`)
		id := created.str("id")
		if !strings.HasPrefix(id, "ord_") || created.str("status") != "pending" || created.str("amount") != "12.34" ||
			created.str("out_trade_no") != "shop_order_1" || created.str("qr_code") == "" || created.str("object") != "payment" {
			t.Fatalf("created: %s", created.raw)
		}
		if created.header.Get("Location") != "/v1/payments/"+id {
			t.Errorf("Location %q", created.header.Get("Location"))
		}
		if md, _ := created.json["metadata"].(map[string]any); md["cart"] != "c-42" || len(md) != 1 {
			t.Errorf("metadata %v", created.json["metadata"])
		}
		if created.json["expires_at"] == nil || created.json["paid_at"] != nil {
			t.Errorf("times: expires_at %v, paid_at %v", created.json["expires_at"], created.json["paid_at"])
		}

		e.pay("shop_order_1")

		got := e.do(req{method: "GET", path: "/v1/payments/" + id})
		e.want(got, http.StatusOK, "")
		if got.str("status") != "paid" || got.str("paid_amount") != "12.34" || got.str("trade_no") == "" || got.json["paid_at"] == nil || got.str("qr_code") != "" {
			t.Fatalf("after paying: %s", got.raw)
		}

		ref := e.do(req{method: "POST", path: "/v1/payments/" + id + "/refunds", body: `{"amount":"2.34","reason":"one cup less"}`})
		e.want(ref, http.StatusCreated, "")
		if ref.str("status") != "succeeded" || ref.str("amount") != "2.34" || ref.str("payment_id") != id || ref.str("object") != "refund" {
			t.Fatalf("refund: %s", ref.raw)
		}
		got = e.do(req{method: "GET", path: "/v1/payments/" + id})
		if got.str("status") != "partially_refunded" || got.str("refunded_amount") != "2.34" || got.str("refundable_amount") != "10.00" {
			t.Fatalf("after the refund: %s", got.raw)
		}
		// More than is left: refused, nothing stored.
		over := e.do(req{method: "POST", path: "/v1/payments/" + id + "/refunds", body: `{"amount":"10.01"}`})
		e.want(over, http.StatusUnprocessableEntity, "refund_exceeds_paid")
		list := e.do(req{method: "GET", path: "/v1/payments/" + id + "/refunds"})
		e.want(list, http.StatusOK, "")
		data, _ := list.json["data"].([]any)
		if len(data) != 1 || data[0].(map[string]any)["id"] != ref.str("id") || list.json["next_cursor"] != nil {
			t.Fatalf("refunds: %s", list.raw)
		}
		if n := e.countRefunds(id); n != 1 {
			t.Fatalf("%d refunds stored, want 1", n)
		}

		evs := e.do(req{method: "GET", path: "/v1/payments/" + id + "/events"})
		e.want(evs, http.StatusOK, "")
		kinds := map[string]bool{}
		var notifyRaw string
		for _, x := range evs.json["data"].([]any) {
			ev := x.(map[string]any)
			kinds[ev["kind"].(string)] = true
			if ev["kind"] == string(payment.EventNotifyReceived) {
				notifyRaw, _ = ev["raw"].(string)
			}
		}
		for _, k := range []payment.EventKind{payment.EventCreated, payment.EventNotifyReceived, payment.EventStateChanged, payment.EventRefundRequested} {
			if !kinds[string(k)] {
				t.Errorf("no %s event in %s", k, evs.raw)
			}
		}
		if !strings.Contains(notifyRaw, "trade_status=TRADE_SUCCESS") {
			t.Errorf("the notify's raw body is not in its event: %q", notifyRaw)
		}
		if strings.Contains(string(evs.raw), "PRIVATE KEY") {
			t.Error("the events show a key")
		}
	})
}

// TestPagePayURL follows the pay_url of a page payment to the sandbox's
// cashier: the URL the API gives is one Alipay takes.
func TestPagePayURL(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		p := e.create(`{"subject":"Book","amount":"0.01","channel":"page","return_url":"https://shop.example/thanks"}`)
		if p.str("return_url") != "https://shop.example/thanks" {
			t.Errorf("return_url %q", p.str("return_url"))
		}
		if md := p.json["metadata"].(map[string]any); len(md) != 0 {
			t.Errorf("zhifu's own metadata shows: %v", md)
		}
		resp, err := e.client.Get(p.str("pay_url"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.Path, "/cashier/") {
			t.Fatalf("the pay_url led to %s %s", resp.Status, resp.Request.URL)
		}
		e.pay(p.str("out_trade_no"))
		got := e.do(req{method: "GET", path: "/v1/payments/" + p.str("id")})
		if got.str("status") != "paid" || got.str("pay_url") != "" {
			t.Fatalf("after paying: %s", got.raw)
		}
	})
}

// TestClose closes a pending payment; closing again answers the same;
// a paid payment cannot be closed.
func TestClose(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		p := e.create(`{"subject":"Tea","amount":"5.00","channel":"precreate"}`)
		id := p.str("id")
		a := e.do(req{method: "POST", path: "/v1/payments/" + id + "/close"})
		e.want(a, http.StatusOK, "")
		if a.str("status") != "closed" || a.json["closed_at"] == nil {
			t.Fatalf("closed: %s", a.raw)
		}
		a = e.do(req{method: "POST", path: "/v1/payments/" + id + "/close", body: "{}"})
		e.want(a, http.StatusOK, "")
		// No body at all needs no Content-Type (as `curl -X POST` sends it).
		a = e.do(req{method: "POST", path: "/v1/payments/" + id + "/close", headers: map[string]string{"Content-Type": ""}})
		e.want(a, http.StatusOK, "")
		e.want(e.do(req{method: "POST", path: "/v1/payments/" + id + "/close", body: `{"now":true}`}), http.StatusBadRequest, "unknown_field")

		paid := e.create(`{"subject":"Tea","amount":"5.00","channel":"precreate"}`)
		e.pay(paid.str("out_trade_no"))
		a = e.do(req{method: "POST", path: "/v1/payments/" + paid.str("id") + "/close"})
		e.want(a, http.StatusConflict, "payment_not_closable")
		if o, _ := e.store.GetOrder(context.Background(), paid.str("id")); o.Status != payment.StatusPaid {
			t.Fatalf("the paid order is %s", o.Status)
		}
		// Refunding the closed one: not refundable.
		e.want(e.do(req{method: "POST", path: "/v1/payments/" + id + "/refunds", body: `{"amount":"1.00"}`}), http.StatusConflict, "payment_not_refundable")
		if n := e.countRefunds(id); n != 0 {
			t.Fatalf("%d refunds stored for a closed order", n)
		}
	})
}
