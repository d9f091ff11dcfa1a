package sandbox

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
)

// paidTrade makes a paid face-to-face trade of amount.
func (e *env) paidTrade(outTradeNo string, amount alipay.Amount) {
	e.t.Helper()
	if _, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: outTradeNo, AuthCode: AuthCodeSuccess, TotalAmount: amount, Subject: "x"}); err != nil {
		e.t.Fatal(err)
	}
}

func TestRefundRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("RF_1", 1000)
	refund := func(no string, amount alipay.Amount) (*alipay.TradeRefundResponse, error) {
		return e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "RF_1", RefundAmount: amount, OutRequestNo: no, RefundReason: "why"})
	}
	r, err := refund("R1", 300)
	if err != nil || !r.MoneyMoved() || r.RefundFee != 300 || r.GmtRefundPay.IsZero() || r.BuyerUserID == "" {
		t.Fatalf("first refund: %v %+v", err, r)
	}
	// The same request again: the same refund, nothing moved.
	r, err = refund("R1", 300)
	if err != nil || r.MoneyMoved() || r.RefundFee != 300 {
		t.Fatalf("repeat: %v %+v", err, r)
	}
	if _, err := refund("R1", 200); !errors.Is(err, alipay.SubCodeDiscordantRepeatRequest) {
		t.Errorf("same out_request_no, other amount: %v", err)
	}
	if _, err := refund("R2", 701); !errors.Is(err, alipay.SubCodeRefundAmountExceeded) {
		t.Errorf("over-refund: %v", err)
	}
	if s, _ := e.ts.Sandbox.Trade(TestAppID, "RF_1"); s.Status != alipay.TradeStatusSuccess || s.RefundFee != 300 || len(s.Refunds) != 1 {
		t.Fatalf("after a partial refund: %+v", s)
	}
	r, err = refund("R2", 700)
	if err != nil || !r.MoneyMoved() || r.RefundFee != 1000 {
		t.Fatalf("the rest: %v %+v", err, r)
	}
	s, _ := e.ts.Sandbox.Trade(TestAppID, "RF_1")
	if s.Status != alipay.TradeStatusClosed || s.GmtClose.IsZero() {
		t.Errorf("fully refunded: %+v", s)
	}
	// Retrying an earlier refund still answers it, after the close.
	if r, err := refund("R1", 300); err != nil || r.MoneyMoved() || r.RefundFee != 1000 {
		t.Errorf("retry after close: %v %+v", err, r)
	}
	if _, err := refund("R3", 1); !errors.Is(err, alipay.SubCodeTradeStatusError) {
		t.Errorf("refund of a closed trade: %v", err)
	}

	// The refund query.
	q, err := e.client.TradeFastpayRefundQuery(ctx, alipay.TradeFastpayRefundQueryRequest{OutTradeNo: "RF_1", OutRequestNo: "R2", QueryOptions: []string{"gmt_refund_pay"}})
	if err != nil || !q.Succeeded() || q.RefundAmount != 700 || q.TotalAmount != 1000 || q.GmtRefundPay.IsZero() {
		t.Errorf("refund query: %v %+v", err, q)
	}
	q, err = e.client.TradeFastpayRefundQuery(ctx, alipay.TradeFastpayRefundQueryRequest{OutTradeNo: "RF_1", OutRequestNo: "R9"})
	if err != nil || q.Succeeded() || q.RefundAmount != 0 {
		t.Errorf("unknown refund: %v %+v", err, q)
	}
	if _, err := e.client.TradeFastpayRefundQuery(ctx, alipay.TradeFastpayRefundQueryRequest{OutTradeNo: "NOPE", OutRequestNo: "R1"}); !alipay.IsTradeNotExist(err) {
		t.Errorf("refund query of no trade: %v", err)
	}

	var kinds []EventKind
	var refunds []string
	for _, ev := range e.ts.Events() {
		kinds = append(kinds, ev.Kind)
		if ev.Refund != nil {
			p := ev.NotifyParams()
			refunds = append(refunds, fmt.Sprint(p.Get("trade_status"), " ", p.Get("refund_fee"), " ", p.Get("out_biz_no")))
		}
	}
	if want := []EventKind{EventCreated, EventPaid, EventRefunded, EventRefunded}; !equal(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
	if want := []string{"TRADE_SUCCESS 3.00 R1", "TRADE_CLOSED 10.00 R2"}; !equal(refunds, want) {
		t.Errorf("refund notifies %q, want %q", refunds, want)
	}
}

func TestRefundRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("RR_PAID", 500)
	e.paidTrade("RR_FIN", 500)
	if err := e.ts.Sandbox.Finish(TestAppID, "RR_FIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: "RR_WAIT", AuthCode: AuthCodeWaitBuyerPay, TotalAmount: 500, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, outTradeNo string
		sub              alipay.SubCode
	}{
		{"unpaid", "RR_WAIT", alipay.SubCodeTradeStatusError},
		{"finished", "RR_FIN", alipay.SubCodeTradeHasFinished},
		{"unknown", "RR_NONE", alipay.SubCodeTradeNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: tc.outTradeNo, RefundAmount: 100, OutRequestNo: "R"})
			if !errors.Is(err, tc.sub) {
				t.Errorf("err %v, want %s", err, tc.sub)
			}
		})
	}
	// Without out_request_no the refund is known by its out_trade_no.
	a := e.call(e.sign(e.params("alipay.trade.refund", `{"out_trade_no":"RR_PAID","refund_amount":1.5}`), nil))
	if a.node["code"] != "10000" || a.node["fund_change"] != "Y" || a.node["refund_fee"] != "1.50" {
		t.Fatalf("%s", a.body)
	}
	q, err := e.client.TradeFastpayRefundQuery(ctx, alipay.TradeFastpayRefundQueryRequest{OutTradeNo: "RR_PAID", OutRequestNo: "RR_PAID"})
	if err != nil || !q.Succeeded() || q.RefundAmount != 150 {
		t.Errorf("%v %+v", err, q)
	}
	// Amounts: at most two decimals, within range.
	for _, amt := range []string{`"0.001"`, `"-1.00"`, `"0.00"`, `"100000000.01"`, `"abc"`, `true`} {
		a := e.call(e.sign(e.params("alipay.trade.refund", `{"out_trade_no":"RR_PAID","out_request_no":"X","refund_amount":`+amt+`}`), nil))
		if a.node["sub_code"] != "ACQ.INVALID_PARAMETER" {
			t.Errorf("refund_amount %s: %s", amt, a.body)
		}
	}
}

// Twenty concurrent retries of one refund refund once.
func TestRefundConcurrentSameRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("RC_1", 1000)
	var wg sync.WaitGroup
	moved := make(chan bool, 20)
	for range 20 {
		wg.Go(func() {
			r, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "RC_1", RefundAmount: 400, OutRequestNo: "SAME"})
			if err != nil {
				t.Error(err)
				return
			}
			if r.RefundFee != 400 {
				t.Errorf("refund_fee %v, want 4.00", r.RefundFee)
			}
			moved <- r.MoneyMoved()
		})
	}
	wg.Wait()
	close(moved)
	n := 0
	for m := range moved {
		if m {
			n++
		}
	}
	s, _ := e.ts.Sandbox.Trade(TestAppID, "RC_1")
	if n != 1 || s.RefundFee != 400 || len(s.Refunds) != 1 {
		t.Errorf("fund_change Y %d times, refunded %v in %d refunds; want once, 4.00", n, s.RefundFee, len(s.Refunds))
	}
}

// Concurrent refunds with different out_request_nos never refund more
// than was paid.
func TestRefundConcurrentNeverExceedsPaid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("RC_2", 1000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total alipay.Amount
	for i := range 20 {
		wg.Go(func() {
			r, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "RC_2", RefundAmount: 300, OutRequestNo: fmt.Sprint("R", i)})
			switch {
			case err == nil && r.MoneyMoved():
				mu.Lock()
				total += 300
				mu.Unlock()
			case errors.Is(err, alipay.SubCodeRefundAmountExceeded):
			default:
				t.Errorf("refund %d: %v %+v", i, err, r)
			}
		})
	}
	wg.Wait()
	s, _ := e.ts.Sandbox.Trade(TestAppID, "RC_2")
	if total != 900 || s.RefundFee != 900 || s.Status != alipay.TradeStatusSuccess {
		t.Errorf("refunded %v (trade says %v, %s); want 9.00 of 10.00", total, s.RefundFee, s.Status)
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "EX_15M", TotalAmount: 1, Subject: "x", BuyerID: "2088102177846880", TimeoutExpress: "15m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "EX_DEFAULT", TotalAmount: 1, Subject: "x", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}
	expire := alipay.Time{Time: e.ts.Sandbox.Now().Add(30 * time.Minute)}
	if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "EX_ABS", TotalAmount: 1, Subject: "x", BuyerID: "2088102177846880", TimeoutExpress: "1m", TimeExpire: expire}); err != nil {
		t.Fatal(err)
	}
	status := func(no string) alipay.TradeStatus {
		q, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: no})
		if err != nil {
			t.Fatal(err)
		}
		return q.TradeStatus
	}
	e.ts.Sandbox.Advance(14 * time.Minute)
	if s := status("EX_15M"); s != alipay.TradeStatusWaitBuyerPay {
		t.Fatalf("at 14m: %s", s)
	}
	e.ts.Sandbox.Advance(time.Minute)
	if s := status("EX_15M"); s != alipay.TradeStatusClosed {
		t.Fatalf("at 15m: %s", s)
	}
	if err := e.ts.Sandbox.Pay(TestAppID, "EX_15M"); !errors.Is(err, alipay.SubCodeTradeHasClose) {
		t.Errorf("pay after expiry: %v", err)
	}
	// time_expire wins over timeout_express.
	if s := status("EX_ABS"); s != alipay.TradeStatusWaitBuyerPay {
		t.Errorf("time_expire in 30m, at 15m: %s", s)
	}
	e.ts.Sandbox.Advance(16 * time.Minute)
	if s := status("EX_ABS"); s != alipay.TradeStatusClosed {
		t.Errorf("time_expire in 30m, at 31m: %s", s)
	}
	// Face to face defaults to 3 hours.
	e.ts.Sandbox.Advance(2*time.Hour + 28*time.Minute)
	if s := status("EX_DEFAULT"); s != alipay.TradeStatusWaitBuyerPay {
		t.Errorf("default at 2h59m: %s", s)
	}
	e.ts.Sandbox.Advance(time.Minute)
	if s := status("EX_DEFAULT"); s != alipay.TradeStatusClosed {
		t.Errorf("default at 3h: %s", s)
	}
	for _, ev := range e.ts.Events() {
		if ev.Kind == EventClosed && ev.Trade.OutTradeNo == "EX_15M" {
			if p := ev.NotifyParams(); p.Get("trade_status") != "TRADE_CLOSED" || p.Get("gmt_close") == "" || p.Has("refund_fee") {
				t.Errorf("timeout close notify %v", p)
			}
		}
	}
}

func TestDeadlines(t *testing.T) {
	t.Parallel()
	created := time.Date(2024, 5, 20, 22, 30, 0, 0, beijing)
	for _, tc := range []struct {
		timeout string
		want    time.Time
	}{
		{"1c", time.Date(2024, 5, 21, 0, 0, 0, 0, beijing)},
		{"90m", created.Add(90 * time.Minute)},
		{"2h", created.Add(2 * time.Hour)},
		{"15d", created.Add(15 * 24 * time.Hour)},
		{"", created.Add(15 * 24 * time.Hour)},
	} {
		o := &order{timeoutExpress: tc.timeout, defaultTimeout: pagePayRules.timeout}
		if got := o.deadline(created.UTC()); !got.Equal(tc.want) {
			t.Errorf("%q: %v, want %v", tc.timeout, got, tc.want)
		}
	}
	for _, bad := range []string{"0m", "16d", "1.5h", "1w", "2c", "999999m", "m"} {
		if _, ok := timeoutDuration(bad); ok {
			t.Errorf("timeout_express %q accepted", bad)
		}
	}
}
