package httpapi_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/internal/httpapi"
	"zhifu/payment"
	"zhifu/sandbox"
)

// adminHiddenPattern finds the hidden fields of a confirmation form.
var adminHiddenPattern = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// adminConfirmForm returns the fields of the confirmation page's form.
func adminConfirmForm(t testing.TB, body string) url.Values {
	t.Helper()
	f := url.Values{}
	for _, m := range adminHiddenPattern.FindAllStringSubmatch(body, -1) {
		f.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if f.Get("confirm") != "yes" || f.Get("csrf") == "" {
		t.Fatalf("no confirmation form on the page:\n%s", body)
	}
	return f
}

// adminRefund asks for a refund on the order page and confirms it,
// returning the final answer.
func adminRefund(e *adminEnv, o *payment.Order, amount, reason string) adminResponse {
	e.t.Helper()
	token := e.csrf(e.client, "/admin/orders/"+o.ID)
	r := e.post("/admin/orders/"+o.ID+"/refund", url.Values{"csrf": {token}, "amount": {amount}, "reason": {reason}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Confirm the refund") {
		return r
	}
	return e.post("/admin/orders/"+o.ID+"/refund", adminConfirmForm(e.t, r.body))
}

// wantInOrder fails the test unless body holds the parts in this order.
func adminWantInOrder(t *testing.T, body string, parts ...string) {
	t.Helper()
	at := 0
	for _, p := range parts {
		i := strings.Index(body[at:], p)
		if i < 0 {
			t.Errorf("%q missing, or not after %q", p, body[max(0, at-40):at])
			return
		}
		at += i + len(p)
	}
}

// TestAdminRefund: a refund through the form, confirmed, is made at the
// sandbox, reported as succeeded, listed, and shown in the timeline in
// time order after the payment's notify; sending the confirmed form again
// refunds nothing more.
func TestAdminRefund(t *testing.T) {
	t.Parallel()
	adminTestRefund(t, adminOpenSQLite(t))
}

// TestAdminRefundPostgres is the same happy path on PostgreSQL, in a
// schema of its own.
func TestAdminRefundPostgres(t *testing.T) {
	t.Parallel()
	adminTestRefund(t, adminOpenPostgres(t))
}

func adminTestRefund(t *testing.T, store payment.Store) {
	e := adminNewEnv(t, store, adminEnvOptions{})
	p := e.create("退款测试 refund test", 1000, nil)
	e.pay(p)
	e.login(e.client)

	token := e.csrf(e.client, "/admin/orders/"+p.Order.ID)
	r := e.post("/admin/orders/"+p.Order.ID+"/refund", url.Values{"csrf": {token}, "amount": {"3.50"}, "reason": {"尺码不合适 wrong size"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "¥3.50") {
		t.Fatalf("refund form: %d\n%s", r.status, r.body)
	}
	if rs := e.refunds(p.Order.ID); len(rs) != 0 {
		t.Fatalf("a refund was made before the confirmation: %+v", rs)
	}
	confirm := adminConfirmForm(t, r.body)
	r = e.post("/admin/orders/"+p.Order.ID+"/refund", confirm)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/admin/orders/"+p.Order.ID+"?refund=rfd_") {
		t.Fatalf("confirmed refund: %d to %q\n%s", r.status, r.location, r.body)
	}
	rs := e.refunds(p.Order.ID)
	if len(rs) != 1 || rs[0].Status != payment.RefundSucceeded || rs[0].Amount != 350 || rs[0].Reason != "尺码不合适 wrong size" {
		t.Fatalf("refunds %+v", rs)
	}
	o := e.order(p.Order.ID)
	if o.Status != payment.StatusPartiallyRefunded || o.RefundedAmount != 350 {
		t.Fatalf("order %s refunded %s", o.Status, o.RefundedAmount)
	}
	if tr, _ := e.sb.Trade(e.ts.AppID, o.OutTradeNo); tr.RefundFee != 350 {
		t.Errorf("the sandbox refunded %s", tr.RefundFee)
	}
	page := e.get(r.location)
	if page.status != http.StatusOK || !strings.Contains(page.body, "The refund of ¥3.50 succeeded") {
		t.Errorf("result page: %d, no success message", page.status)
	}
	adminWantInOrder(t, page.body,
		"部分退款",                               // the status badge at the top
		"¥10.00", "¥10.00", "¥3.50", "¥6.50", // amount, paid, refunded, refundable
		rs[0].OutRequestNo, "退款成功", // the refunds table
		"订单创建", "Order created",
		"收到异步通知", "Verified", "Applied",
		"状态变更", "Pending", "Paid",
		"退款申请", "退款应答", "Refund answered",
	)
	// The refund's notify may come before or after the refund's answer:
	// one of them moves the order.
	adminWantInOrder(t, page.body, "退款申请", "状态变更", "Paid", "Partially refunded")
	adminWantInOrder(t, page.body, "退款申请", "退款结束", "Refund settled")
	if !strings.Contains(page.body, "notify_id") || !strings.Contains(page.body, "TRADE_SUCCESS") {
		t.Error("the notify's raw body is not shown")
	}

	// The confirmed form sent again (a double click, a reload) is the
	// same refund.
	if r := e.post("/admin/orders/"+p.Order.ID+"/refund", confirm); r.status != http.StatusSeeOther {
		t.Errorf("the confirmed form again: %d", r.status)
	}
	if rs := e.refunds(p.Order.ID); len(rs) != 1 {
		t.Errorf("%d refunds after sending the confirmation twice", len(rs))
	}
	if o := e.order(p.Order.ID); o.RefundedAmount != 350 {
		t.Errorf("refunded %s after sending the confirmation twice", o.RefundedAmount)
	}
	e.wantSecretsAbsent("the order page", page.body)
}

// TestAdminRefundErrors: each way a refund fails is a readable message
// on the order page with the right status, and moves no money.
func TestAdminRefundErrors(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	paid := e.create("paid", 1000, nil)
	e.pay(paid)
	pending := e.create("pending", 1000, nil)
	e.login(e.client)

	for _, c := range []struct{ amount, want string }{
		{"", "Enter the amount"},
		{"abc", "not an amount in yuan"},
		{"0.001", "not an amount in yuan"},
		{"-1", "not an amount in yuan"},
		{"0", "not an amount in yuan"},
		{"1e3", "not an amount in yuan"},
	} {
		r := adminRefund(e, paid.Order, c.amount, "")
		if r.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(r.body), c.want) {
			t.Errorf("amount %q: %d, want 400 saying %q", c.amount, r.status, c.want)
		}
	}
	if r := adminRefund(e, paid.Order, "10.01", ""); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "exceeds what can still be refunded (¥10.00") {
		t.Errorf("too much: %d\n%s", r.status, r.body)
	}
	if r := adminRefund(e, pending.Order, "1.00", ""); r.status != http.StatusConflict || !strings.Contains(r.body, "cannot be refunded") {
		t.Errorf("pending: %d", r.status)
	}
	if r := adminRefund(e, paid.Order, "1.00", strings.Repeat("长", 257)); r.status != http.StatusBadRequest || !strings.Contains(r.body, "too long") {
		t.Errorf("long reason: %d", r.status)
	}
	if rs := e.refunds(paid.Order.ID); len(rs) != 0 {
		t.Errorf("refunds: %+v", rs)
	}

	// Alipay refuses: the trade's refund period ended at Alipay, and the
	// notify that says so has not arrived.
	finished := e.create("finished", 500, nil)
	e.pay(finished)
	if err := e.sb.SetNotifyFault(sandbox.NotifyScope{AppID: e.ts.AppID, OutTradeNo: finished.Order.OutTradeNo}, sandbox.NotifyFault{DropFirst: 100}); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Finish(e.ts.AppID, finished.Order.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	r := adminRefund(e, finished.Order, "1.00", "")
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, "Alipay refused the refund") || !strings.Contains(r.body, "ACQ.TRADE_HAS_FINISHED") {
		t.Errorf("refused: %d\n%s", r.status, r.body)
	}
	if rs := e.refunds(finished.Order.ID); len(rs) != 1 || rs[0].Status != payment.RefundFailed {
		t.Errorf("refused refund: %+v", rs)
	}

	// Alipay's answer is unknown: the refund is being settled.
	if _, err := e.sb.SetFault(sandbox.Fault{AppID: e.ts.AppID, Method: "alipay.trade.refund", Kind: sandbox.FaultSystemError, Count: 1}); err != nil {
		t.Fatal(err)
	}
	r = adminRefund(e, paid.Order, "2.00", "")
	if r.status != http.StatusSeeOther {
		t.Fatalf("unknown outcome: %d\n%s", r.status, r.body)
	}
	page := e.get(r.location)
	if !strings.Contains(page.body, "being settled") || !strings.Contains(page.body, "Being settled") {
		t.Errorf("unknown outcome page does not say the refund is being settled:\n%s", page.body)
	}
	rs := e.refunds(paid.Order.ID)
	if len(rs) != 1 || rs[0].Status != payment.RefundUnknown {
		t.Fatalf("refunds %+v", rs)
	}
	// Settled later by the query, the page says succeeded.
	if _, err := e.svc.SettleRefund(e.ctx(), rs[0].ID); err != nil {
		t.Fatal(err)
	}
	if page := e.get(r.location); !strings.Contains(page.body, "The refund of ¥2.00 succeeded") {
		t.Error("the settled refund is not shown as succeeded")
	}
}

// TestAdminClose: a pending order is closed through the form after a
// confirmation, at the sandbox too; a paid order has no close button and
// a forced close is refused.
func TestAdminClose(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	p := e.create("to close", 800, nil)
	resp, err := e.srv.Client().Get(p.PayURL) // the buyer opened the cashier: the trade exists
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e.login(e.client)
	page := e.get("/admin/orders/" + p.Order.ID)
	if !strings.Contains(page.body, "/close") || strings.Contains(page.body, "/refund\"") {
		t.Fatalf("a pending order's page: want a close form and no refund form")
	}
	token := adminCSRFPattern.FindStringSubmatch(page.body)[1]
	r := e.post("/admin/orders/"+p.Order.ID+"/close", url.Values{"csrf": {token}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Close this order?") {
		t.Fatalf("close form: %d", r.status)
	}
	if o := e.order(p.Order.ID); o.Status != payment.StatusPending {
		t.Fatalf("closed before the confirmation: %s", o.Status)
	}
	r = e.post("/admin/orders/"+p.Order.ID+"/close", adminConfirmForm(t, r.body))
	if r.status != http.StatusSeeOther || r.location != "/admin/orders/"+p.Order.ID+"?closed=1" {
		t.Fatalf("confirmed close: %d to %q\n%s", r.status, r.location, r.body)
	}
	if o := e.order(p.Order.ID); o.Status != payment.StatusClosed {
		t.Fatalf("order %s after the close", o.Status)
	}
	if tr, _ := e.sb.Trade(e.ts.AppID, p.Order.OutTradeNo); tr.Status != alipay.TradeStatusClosed {
		t.Errorf("the sandbox's trade is %s", tr.Status)
	}
	page = e.get(r.location)
	if !strings.Contains(page.body, "The order is closed") {
		t.Error("no result message")
	}
	adminWantInOrder(t, page.body, "请求关闭", "关闭应答", "状态变更", "Pending", "Closed")

	paid := e.create("paid", 100, nil)
	e.pay(paid)
	page = e.get("/admin/orders/" + paid.Order.ID)
	if strings.Contains(page.body, "/close\"") {
		t.Error("a paid order has a close button")
	}
	if r := e.post("/admin/orders/"+paid.Order.ID+"/close", url.Values{"csrf": {token}, "confirm": {"yes"}}); r.status != http.StatusConflict || !strings.Contains(r.body, "Only a pending order can be closed") {
		t.Errorf("close of a paid order: %d", r.status)
	}
	if o := e.order(paid.Order.ID); o.Status != payment.StatusPaid {
		t.Errorf("paid order is %s", o.Status)
	}
	if r := e.get("/admin/orders/ord_NOSUCHORDER"); r.status != http.StatusNotFound || !strings.Contains(r.body, "Order not found") {
		t.Errorf("unknown order: %d", r.status)
	}
}

// adminWebhooks is a webhook history for the timeline, as the webhook
// sender will provide it.
type adminWebhooks map[string][]httpapi.AdminWebhookEvent

func (w adminWebhooks) ListWebhookEvents(_ context.Context, orderID string) ([]httpapi.AdminWebhookEvent, error) {
	return w[orderID], nil
}

// ResendWebhook is refused: this history is made up, and has no endpoint
// to send to (TestAdminWebhookResend resends real events).
func (w adminWebhooks) ResendWebhook(context.Context, string) (httpapi.AdminWebhookAttempt, error) {
	return httpapi.AdminWebhookAttempt{}, errors.New("adminWebhooks: a made-up history cannot resend")
}

// adminBills is a list of bill differences, as the reconciler will
// provide it.
type adminBills []httpapi.AdminBillDifference

func (b adminBills) ListBillDifferences(_ context.Context, limit int) ([]httpapi.AdminBillDifference, error) {
	return b[:min(limit, len(b))], nil
}

// TestAdminExtensions: webhook attempts join the timeline at their time,
// and the bill differences page lists the differences with links to their
// orders; without a Bills lister the page does not exist.
func TestAdminExtensions(t *testing.T) {
	t.Parallel()
	hooks := adminWebhooks{}
	bills := adminBills{}
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{edit: func(c *httpapi.AdminConfig) {
		c.Webhooks, c.Bills = hooks, bills
	}})
	p := e.create("hooked", 100, nil)
	e.pay(p)
	o := e.order(p.Order.ID)
	hooks[o.ID] = []httpapi.AdminWebhookEvent{
		{EventID: "evt_second", EventType: "order.paid", Attempts: []httpapi.AdminWebhookAttempt{
			{EventID: "evt_second", EventType: "order.paid", Attempt: 2, At: o.PaidAt.Add(time.Hour), StatusCode: 200, Delivered: true},
		}},
		{EventID: "evt_first", EventType: "order.paid", Attempts: []httpapi.AdminWebhookAttempt{
			{EventID: "evt_first", EventType: "order.paid", Attempt: 1, At: o.PaidAt.Add(time.Minute), StatusCode: 503, Error: "answered 503 <b>busy</b>", NextAttemptAt: o.PaidAt.Add(time.Hour)},
		}},
	}
	e.login(e.client)
	page := e.get("/admin/orders/" + o.ID)
	adminWantInOrder(t, page.body, "收到异步通知", "状态变更", "evt_first", "HTTP 503", "&lt;b&gt;busy&lt;/b&gt;", "evt_second", "已送达")

	r := e.get("/admin/bills")
	if r.status != http.StatusOK || !strings.Contains(r.body, "No differences") {
		t.Errorf("empty bills page: %d", r.status)
	}
	if !strings.Contains(r.body, `href="/admin/bills"`) {
		t.Error("no link to the bills page")
	}
	bills = append(bills, httpapi.AdminBillDifference{
		BillDate: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Kind: "amount", OutTradeNo: o.OutTradeNo, OrderID: o.ID,
		LocalAmount: 100, BillAmount: 90, Detail: "the bill says 0.90", FoundAt: time.Now(),
	})
	e2 := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{edit: func(c *httpapi.AdminConfig) { c.Bills = bills }})
	e2.login(e2.client)
	r = e2.get("/admin/bills")
	adminWantInOrder(t, r.body, "2026-11-27", "amount", `href="/admin/orders/`+o.ID+`"`, "¥1.00", "¥0.90", "the bill says 0.90")

	plain := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	plain.login(plain.client)
	if r := plain.get("/admin/bills"); r.status != http.StatusNotFound {
		t.Errorf("bills page without a lister: %d", r.status)
	}
	if strings.Contains(plain.get("/admin/orders").body, `href="/admin/bills"`) {
		t.Error("a link to a bills page that does not exist")
	}
}
