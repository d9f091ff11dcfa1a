package sandbox

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"zhifu/alipay"
)

// A page payment paid on the cashier sends one notify, signed, that the
// SDK accepts, with the trade's fields; the acknowledged notify is never
// sent again.
func TestNotifyPagePay(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	u, err := e.client.PagePayURL(alipay.TradePagePayRequest{OutTradeNo: "NP_1", TotalAmount: 1234, Subject: "茶 Tea & cake",
		Body: "two cups", PassbackParams: "a%3Db", ReturnURL: "https://shop.example.com/return", NotifyURL: e.rc.URL})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := e.get(u)
	cashier := resp.Header.Get("Location")
	e.get(cashier)
	e.deliver()
	if got := e.rc.received(); len(got) != 0 {
		t.Fatalf("notify before paying (WAIT_BUYER_PAY never notifies): %v", got[0].raw)
	}
	if resp, body := e.postForm(cashier+"/pay", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %d %s", resp.StatusCode, body)
	}
	e.deliver()
	got := e.rc.received()
	if len(got) != 1 {
		t.Fatalf("%d notifies, want 1", len(got))
	}
	r := got[0]
	if r.contentType != "application/x-www-form-urlencoded; charset=utf-8" {
		t.Errorf("Content-Type %q", r.contentType)
	}
	n := e.verify(r)
	tr, _ := e.sb.Trade(TestAppID, "NP_1")
	ns := e.sb.Notifications(TestAppID)
	if len(ns) != 1 || ns[0].State != NotifyAcknowledged || ns[0].Attempts != 1 || !ns[0].NextAttemptAt.IsZero() {
		t.Fatalf("notifications %+v", ns)
	}
	want := alipay.Notification{
		NotifyID: ns[0].NotifyID, NotifyType: "trade_status_sync", NotifyTime: e.start.Truncate(time.Second),
		AppID: TestAppID, AuthAppID: TestAppID, Charset: "utf-8", Version: "1.0", SignType: alipay.SignTypeRSA2,
		TradeNo: tr.TradeNo, OutTradeNo: "NP_1", BuyerID: tr.BuyerID, BuyerLogonID: sandboxBuyerLogonID, SellerID: tr.SellerID,
		TradeStatus: alipay.TradeStatusSuccess, TotalAmount: 1234, ReceiptAmount: 1234, InvoiceAmount: 1234, BuyerPayAmount: 1234,
		Subject: "茶 Tea & cake", Body: "two cups", PassbackParams: "a%3Db",
		GmtCreate: tr.GmtCreate, GmtPayment: tr.GmtPayment, FundBillList: `[{"fundChannel":"ALIPAYACCOUNT","amount":"12.34"}]`,
	}
	n.Params = nil
	if !n.NotifyTime.Equal(want.NotifyTime) || !n.GmtPayment.Equal(tr.GmtPayment.Truncate(time.Second)) || tr.GmtPayment.IsZero() {
		t.Errorf("times: notify %v payment %v, want %v %v", n.NotifyTime, n.GmtPayment, want.NotifyTime, tr.GmtPayment)
	}
	n.NotifyTime, n.GmtPayment, n.GmtCreate = want.NotifyTime, want.GmtPayment, want.GmtCreate
	if !reflect.DeepEqual(*n, want) {
		t.Errorf("notify\n got %+v\nwant %+v", *n, want)
	}
	if !strings.HasPrefix(n.NotifyID, e.start.In(beijing).Format("20060102")) || len(n.NotifyID) != 34 {
		t.Errorf("notify_id %q is not shaped like Alipay's", n.NotifyID)
	}
	for _, k := range []string{"refund_fee", "gmt_refund", "out_biz_no", "gmt_close"} {
		if r.form.Has(k) {
			t.Errorf("a payment notify has %s", k)
		}
	}
	as := e.attempts("NP_1")
	if len(as) != 1 || !as[0].Acknowledged || as[0].StatusCode != 200 || as[0].Body != "success" || as[0].Attempt != 1 ||
		as[0].URL != e.rc.URL || as[0].Form != r.raw || !as[0].Time.Equal(e.start) || as[0].Error != "" {
		t.Errorf("attempts %+v", as)
	}
	e.sb.Advance(48 * time.Hour)
	e.deliver()
	if n := len(e.rc.received()); n != 1 {
		t.Errorf("an acknowledged notify was sent %d times", n)
	}
}

// Every answer but HTTP 200 with exactly "success" is a failure, retried
// on the schedule times the time scale; the 8th delivery is the last.
func TestNotifyRetrySchedule(t *testing.T) {
	t.Parallel()
	answers := []struct {
		name   string
		answer func(i int, w http.ResponseWriter, r *http.Request)
		body   string
		status int
	}{
		{"fail", func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "fail") }, "fail", 200},
		{"SUCCESS", func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "SUCCESS") }, "SUCCESS", 200},
		{"success newline", func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "success\n") }, "success\n", 200},
		{"space success", func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, " success") }, " success", 200},
		{"success in HTML", func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "<p>success</p>") }, "<p>success</p>", 200},
		{"500 success", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, "success")
		}, "success", 500},
		{"201 success", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(201)
			io.WriteString(w, "success")
		}, "success", 201},
		{"302 to success", func(_ int, w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("moved") {
				io.WriteString(w, "success")
				return
			}
			http.Redirect(w, r, "?moved=1", http.StatusFound)
		}, "", 302},
		{"long body", func(_ int, w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "success"+strings.Repeat(" ", 2000))
		}, "success" + strings.Repeat(" ", maxRecordedBody-7), 200},
	}
	for _, tc := range answers {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, scale := range []float64{1, 0.001} {
				e := newNotifyEnv(t, Config{TimeScale: scale}, tc.answer)
				e.pay("RS_1", 100)
				checkSchedule(t, e, "RS_1", 8)
				as := e.attempts("RS_1")
				for _, a := range as {
					if a.StatusCode != tc.status || a.Body != tc.body || a.Acknowledged || a.Error != "" {
						t.Fatalf("attempt %+v", a)
					}
				}
				if tc.name == "long body" && !as[0].BodyTruncated {
					t.Errorf("body not marked truncated")
				}
				if got := e.rc.received(); len(got) != 8 {
					t.Errorf("the merchant got %d deliveries, want 8 (a redirect is not followed)", len(got))
				}
			}
		})
	}
}

// checkSchedule advances the clock to just before and to each delivery
// of the notify of outTradeNo, checking that the deliveries come exactly
// on the schedule times the time scale, want of them in all; the notify
// id stays and notify_time follows the clock.
func checkSchedule(t *testing.T, e *notifyEnv, outTradeNo string, want int) {
	t.Helper()
	e.deliver()
	t0 := e.sb.Now()
	at := t0
	delays := e.sb.NotifyDelays()
	if len(delays) != 7 {
		t.Fatalf("delays %v", delays)
	}
	for i, d := range delays {
		if want := time.Duration(float64(DefaultNotifySchedule()[i]) * e.sb.cfg.TimeScale); d != want {
			t.Fatalf("delay %d is %v, want %v", i, d, want)
		}
	}
	for i := 1; i < want; i++ {
		d := delays[i-1]
		e.sb.Advance(d - time.Nanosecond)
		e.deliver()
		if n := len(e.attempts(outTradeNo)); n != i {
			t.Fatalf("%d deliveries 1ns before delivery %d, want %d", n, i+1, i)
		}
		ns := e.sb.Notifications(TestAppID)
		if at = at.Add(d); !ns[0].NextAttemptAt.Equal(at) || ns[0].State != NotifyPending {
			t.Fatalf("next attempt at %v (%s), want %v", ns[0].NextAttemptAt, ns[0].State, at)
		}
		e.sb.Advance(time.Nanosecond)
		e.deliver()
		as := e.attempts(outTradeNo)
		if len(as) != i+1 || !as[i].Time.Equal(at) || as[i].Attempt != i+1 {
			t.Fatalf("delivery %d: %d deliveries, last %+v, want at %v", i+1, len(as), as[len(as)-1], at)
		}
	}
	// After the last one, nothing more, ever.
	e.sb.Advance(72 * time.Hour)
	e.deliver()
	as := e.attempts(outTradeNo)
	if len(as) != want {
		t.Fatalf("%d deliveries, want %d", len(as), want)
	}
	if want == 8 {
		if total := as[7].Time.Sub(t0); total != time.Duration(float64(24*time.Hour+24*time.Minute)*e.sb.cfg.TimeScale) {
			t.Errorf("the last delivery came %v after the first", total)
		}
		if ns := e.sb.Notifications(TestAppID); ns[0].State != NotifyGaveUp || ns[0].Attempts != 8 || !ns[0].NextAttemptAt.IsZero() {
			t.Errorf("after the schedule: %+v", ns[0])
		}
	}
	got := e.rc.received()
	var times []string
	for i, r := range got {
		if r.form.Get("notify_id") != got[0].form.Get("notify_id") || r.form.Get("notify_id") == "" {
			t.Errorf("notify_id changed at delivery %d: %q", i+1, r.form.Get("notify_id"))
		}
		times = append(times, r.form.Get("notify_time"))
	}
	if e.sb.cfg.TimeScale == 1 {
		for i := 1; i < len(times); i++ {
			if times[i] <= times[i-1] {
				t.Errorf("notify_time did not move on: %v", times)
			}
		}
	}
}

// A merchant that acknowledges the third delivery gets no fourth.
func TestNotifyRetryStopsOnSuccess(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, func(i int, w http.ResponseWriter, _ *http.Request) {
		if i < 2 {
			http.Error(w, "db down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "success")
	})
	e.pay("OK_3", 100)
	checkSchedule(t, e, "OK_3", 3)
	if ns := e.sb.Notifications(TestAppID); ns[0].State != NotifyAcknowledged || ns[0].Attempts != 3 {
		t.Errorf("%+v", ns[0])
	}
}

// A merchant that does not answer in time fails the delivery.
func TestNotifyTimeout(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{NotifyTimeout: 50 * time.Millisecond, NotifySchedule: []time.Duration{time.Minute}},
		func(_ int, w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // until the sandbox hangs up
		})
	e.pay("TO_1", 100)
	e.deliver()
	e.sb.Advance(time.Minute)
	e.deliver()
	as := e.attempts("TO_1")
	if len(as) != 2 {
		t.Fatalf("%d deliveries, want 2", len(as))
	}
	for _, a := range as {
		if a.StatusCode != 0 || a.Acknowledged || !strings.Contains(a.Error, "deadline exceeded") || a.Latency < 50*time.Millisecond {
			t.Errorf("attempt %+v", a)
		}
	}
	if ns := e.sb.Notifications(TestAppID); ns[0].State != NotifyGaveUp {
		t.Errorf("%+v", ns[0])
	}
}

// Refunds notify: a partial one as TRADE_SUCCESS with the refund fields,
// the one completing the total as TRADE_CLOSED with gmt_close.
func TestNotifyRefunds(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	e.pay("NR_1", 1000)
	e.deliver()
	e.sb.Advance(time.Minute)
	e.refund("NR_1", "R1", 300)
	e.deliver()
	e.sb.Advance(time.Minute)
	e.refund("NR_1", "R2", 700)
	e.deliver()
	got := e.rc.received()
	if len(got) != 3 {
		t.Fatalf("%d notifies, want 3", len(got))
	}
	pay, partial, full := e.verify(got[0]), e.verify(got[1]), e.verify(got[2])
	if pay.IsRefund() || pay.TradeStatus != alipay.TradeStatusSuccess {
		t.Errorf("payment notify %+v", pay)
	}
	refundTime := e.start.Add(time.Minute)
	if partial.TradeStatus != alipay.TradeStatusSuccess || partial.RefundFee != 300 || partial.OutBizNo != "R1" ||
		!partial.GmtRefund.Equal(refundTime) || !partial.GmtClose.IsZero() || partial.TotalAmount != 1000 || !partial.IsRefund() {
		t.Errorf("partial refund notify %+v", partial)
	}
	if got[1].form.Get("gmt_refund") != refundTime.In(beijing).Format("2006-01-02 15:04:05.000") {
		t.Errorf("gmt_refund %q has no milliseconds", got[1].form.Get("gmt_refund"))
	}
	closeTime := e.start.Add(2 * time.Minute)
	if full.TradeStatus != alipay.TradeStatusClosed || full.RefundFee != 1000 || full.OutBizNo != "R2" ||
		!full.GmtRefund.Equal(closeTime) || !full.GmtClose.Equal(closeTime) || !full.IsRefund() {
		t.Errorf("full refund notify %+v", full)
	}
	ids := map[string]bool{}
	for _, r := range got {
		ids[r.form.Get("notify_id")] = true
	}
	if len(ids) != 3 {
		t.Errorf("three notifies share notify_ids: %v", ids)
	}
}

// The clock closes an unpaid trade at its deadline, without anybody
// looking at it: a wap trade notifies TRADE_CLOSED without refund fields;
// a page trade, by default, sends nothing.
func TestNotifyExpiry(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	wap, err := e.client.WapPayURL(alipay.TradeWapPayRequest{OutTradeNo: "EXP_WAP", TotalAmount: 100, Subject: "x",
		TimeoutExpress: "5m", NotifyURL: e.rc.URL})
	if err != nil {
		t.Fatal(err)
	}
	page, err := e.client.PagePayURL(alipay.TradePagePayRequest{OutTradeNo: "EXP_PAGE", TotalAmount: 100, Subject: "x",
		TimeoutExpress: "5m", NotifyURL: e.rc.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{wap, page} {
		resp, _ := e.get(u)
		e.get(resp.Header.Get("Location")) // the buyer opens the cashier
	}
	e.ts.Events()
	e.sb.Advance(5*time.Minute - time.Nanosecond)
	e.deliver()
	if evs := e.ts.Events(); len(evs) != 0 || len(e.rc.received()) != 0 {
		t.Fatalf("before the deadline: %v", evs)
	}
	e.sb.Advance(time.Nanosecond)
	e.deliver()
	evs := e.ts.Events() // no call looked at the trades: the clock closed them
	if len(evs) != 2 || evs[0].Kind != EventClosed || evs[1].Kind != EventClosed {
		t.Fatalf("events %+v", evs)
	}
	got := e.rc.received()
	if len(got) != 1 {
		t.Fatalf("%d notifies, want 1 (the wap trade's)", len(got))
	}
	n := e.verify(got[0])
	if n.OutTradeNo != "EXP_WAP" || n.TradeStatus != alipay.TradeStatusClosed || !n.GmtClose.Equal(e.start.Add(5*time.Minute)) ||
		n.IsRefund() || !n.GmtPayment.IsZero() {
		t.Errorf("close notify %+v", n)
	}
	for _, k := range []string{"refund_fee", "gmt_refund", "out_biz_no", "gmt_payment", "receipt_amount"} {
		if got[0].form.Has(k) {
			t.Errorf("a timeout close notify has %s", k)
		}
	}
	if tr, _ := e.sb.Trade(TestAppID, "EXP_PAGE"); tr.Status != alipay.TradeStatusClosed {
		t.Errorf("page trade %s", tr.Status)
	}
}

// The table decides; a custom table can make page pay notify its close.
func TestNotifyTable(t *testing.T) {
	t.Parallel()
	table := DefaultNotifyTable()
	for _, tc := range []struct {
		product string
		kind    EventKind
		want    bool
	}{
		{alipay.ProductCodePagePay, EventPaid, true},
		{alipay.ProductCodePagePay, EventRefunded, true},
		{alipay.ProductCodePagePay, EventClosed, false},
		{alipay.ProductCodePagePay, EventFinished, false},
		{alipay.ProductCodeWapPay, EventClosed, true},
		{alipay.ProductCodeWapPay, EventFinished, true},
		{alipay.ProductCodeAppPay, EventClosed, true},
		{alipay.ProductCodeFaceToFace, EventPaid, true},
		{alipay.ProductCodeFaceToFace, EventClosed, false},
		{"SOMETHING_ELSE", EventClosed, true},
		{"SOMETHING_ELSE", EventCreated, false},
		{alipay.ProductCodeWapPay, EventCreated, false},
	} {
		if got := table.notifies(tc.product, tc.kind); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.product, tc.kind, got, tc.want)
		}
	}
	e := newNotifyEnv(t, Config{NotifyTable: NotifyTable{alipay.ProductCodeFaceToFace: {EventClosed}}}, ack)
	e.pay("TBL_1", 100)
	if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "TBL_2", TotalAmount: 100, Subject: "x",
		BuyerID: "2088102177846880", NotifyURL: e.rc.URL}); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Close(TestAppID, "TBL_2"); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	got := e.rc.received()
	if len(got) != 1 || got[0].form.Get("out_trade_no") != "TBL_2" || got[0].form.Get("trade_status") != "TRADE_CLOSED" {
		t.Errorf("notifies %v", got)
	}
}

// A trade without notify_url notifies nothing; a manual resend delivers
// at once, outside the schedule.
func TestResendNotify(t *testing.T) {
	t.Parallel()
	var acks atomic.Bool
	e := newNotifyEnv(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !acks.Load() {
			io.WriteString(w, "fail")
			return
		}
		io.WriteString(w, "success")
	})
	if _, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: "NO_URL", AuthCode: AuthCodeSuccess, TotalAmount: 1, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	e.pay("RESEND", 100)
	e.deliver()
	ns := e.sb.Notifications(TestAppID)
	if len(ns) != 1 || ns[0].OutTradeNo != "RESEND" || ns[0].State != NotifyPending {
		t.Fatalf("%+v", ns)
	}
	if err := e.sb.ResendNotify(ns[0].NotifyID); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	acks.Store(true)
	if err := e.sb.ResendNotify(ns[0].NotifyID); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	as := e.attempts("RESEND")
	if len(as) != 3 || as[0].Manual || !as[1].Manual || !as[2].Manual || !as[2].Acknowledged || as[2].Attempt != 3 ||
		!as[2].Time.Equal(e.start) {
		t.Fatalf("attempts %+v", as)
	}
	n, _ := e.sb.Notification(ns[0].NotifyID)
	if n.State != NotifyAcknowledged || !n.NextAttemptAt.IsZero() {
		t.Errorf("%+v", n)
	}
	e.sb.Advance(48 * time.Hour) // the retries scheduled before are off
	e.deliver()
	if got := len(e.rc.received()); got != 3 {
		t.Errorf("%d deliveries", got)
	}
	if err := e.sb.ResendNotify("nope"); err == nil {
		t.Error("resend of an unknown notify")
	}
}
