package payment_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"zhifu/payment"
)

// TestUnverifiedNotifiesBounded: a stranger who knows an out_trade_no posts
// forged notifies naming it without end; the order's log keeps a bounded
// number of them, every one is refused, and the order does not change.
func TestUnverifiedNotifiesBounded(t *testing.T) {
	e := newEnv(t, openSQLite, options{})
	p := e.create(payment.ChannelPage, 100)
	form := url.Values{
		"app_id":       {e.ts.AppID},
		"out_trade_no": {p.Order.OutTradeNo},
		"trade_status": {"TRADE_SUCCESS"},
		"total_amount": {"1.00"},
		"notify_id":    {"forged"},
		"sign_type":    {"RSA2"},
		"sign":         {strings.Repeat("A", 344)},
	}
	const posts = 50
	for range posts {
		if status, body := e.postNotify(form.Encode()); status != http.StatusBadRequest || body != "fail" {
			t.Fatalf("a forged notify was answered %d %q", status, body)
		}
	}
	n := e.count(p.Order.ID, payment.EventNotifyRejected, payment.EffectRejected)
	if n == 0 || n >= posts || n > 20 {
		t.Fatalf("%d of %d forged notifies recorded in the order's log; want a few, at most 20", n, posts)
	}
	e.wantStatus(p.Order.ID, payment.StatusPending)
	if !e.logs.has("too many for this order", p.Order.OutTradeNo) {
		t.Error("the notifies not recorded were not logged")
	}
}
