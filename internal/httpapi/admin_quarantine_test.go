package httpapi_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"zhifu/alipay"
	"zhifu/payment"
)

// TestAdminQuarantine: a signed notify for an order the store does not
// know is listed with its reason and raw body; its replay is refused
// while the cause stays, applies it once the order exists, and cannot be
// repeated.
func TestAdminQuarantine(t *testing.T) {
	t.Parallel()
	e := adminNewEnv(t, adminOpenSQLite(t), adminEnvOptions{})
	outTradeNo := alipay.NewOutTradeNo()
	u, err := e.ts.Client().PagePayURL(alipay.TradePagePayRequest{
		OutTradeNo: outTradeNo, TotalAmount: 250, Subject: "elsewhere", NotifyURL: e.cfg.NotifyURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.pay(&payment.Payment{Order: &payment.Order{OutTradeNo: outTradeNo}, PayURL: u})
	qs, err := e.store.ListQuarantined(e.ctx(), payment.QuarantineFilter{})
	if err != nil || len(qs) != 1 {
		t.Fatalf("quarantine %+v, %v", qs, err)
	}
	id := strconv.FormatInt(qs[0].ID, 10)
	e.login(e.client)

	page := e.get("/admin/quarantine")
	adminWantInOrder(t, page.body, "#"+id, outTradeNo, "Waiting", "unknown out_trade_no", "notify_id", "TRADE_SUCCESS", "/admin/quarantine/"+id+"/replay")
	token := adminCSRFPattern.FindStringSubmatch(page.body)[1]

	r := e.post("/admin/quarantine/"+id+"/replay", url.Values{"csrf": {token}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "still rejected") || !strings.Contains(r.body, "unknown out_trade_no") {
		t.Fatalf("replay before the fix: %d\n%s", r.status, r.body)
	}

	p, err := e.svc.CreatePayment(e.ctx(), payment.CreatePaymentRequest{
		Subject: "elsewhere", Amount: 250, Channel: payment.ChannelPage, OutTradeNo: outTradeNo,
	})
	if err != nil {
		t.Fatal(err)
	}
	r = e.post("/admin/quarantine/"+id+"/replay", url.Values{"csrf": {token}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("replay after the fix: %d\n%s", r.status, r.body)
	}
	if o := e.order(p.Order.ID); o.Status != payment.StatusPaid {
		t.Fatalf("order %s after the replay", o.Status)
	}
	page = e.get(r.location)
	if !strings.Contains(page.body, "was replayed and applied") || !strings.Contains(page.body, `href="/admin/orders/`+p.Order.ID+`"`) {
		t.Errorf("no result message:\n%s", page.body)
	}
	if strings.Contains(page.body, "/admin/quarantine/"+id+"/replay") {
		t.Error("the replayed notify is still offered for a replay")
	}
	if all := e.get("/admin/quarantine?all=1"); !strings.Contains(all.body, "Replayed") {
		t.Error("the replayed notify is not listed with all=1")
	}
	if r := e.post("/admin/quarantine/"+id+"/replay", url.Values{"csrf": {token}}); r.status != http.StatusConflict || !strings.Contains(r.body, "already replayed") {
		t.Errorf("second replay: %d", r.status)
	}
	if r := e.post("/admin/quarantine/999999/replay", url.Values{"csrf": {token}}); r.status != http.StatusNotFound {
		t.Errorf("unknown notify: %d", r.status)
	}
	if r := e.get("/admin/quarantine?after=x"); r.status != http.StatusBadRequest {
		t.Errorf("bad paging: %d", r.status)
	}
	// The order's timeline shows the replayed notify.
	adminWantInOrder(t, e.get("/admin/orders/"+p.Order.ID).body, "收到异步通知", "Verified", "状态变更", "Paid")
}
