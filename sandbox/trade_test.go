package sandbox

import (
	"context"
	"errors"
	"strings"
	"testing"

	"zhifu/alipay"
)

var ctx = context.Background()

func TestPrecreateThenScanThenQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req := alipay.TradePrecreateRequest{OutTradeNo: "PRE_1", TotalAmount: 1234, Subject: "Tea"}
	resp, err := e.client.TradePrecreate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.QRCode, e.ts.Server.URL+"/qr/") {
		t.Errorf("qr_code %q is not a sandbox QR link", resp.QRCode)
	}
	// Not scanned: no trade yet, neither to query nor to close.
	if _, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "PRE_1"}); !alipay.IsTradeNotExist(err) {
		t.Fatalf("query before scan: %v, want ACQ.TRADE_NOT_EXIST", err)
	}
	if _, err := e.client.TradeClose(ctx, alipay.TradeCloseRequest{OutTradeNo: "PRE_1"}); !alipay.IsTradeNotExist(err) {
		t.Fatalf("close before scan: %v, want ACQ.TRADE_NOT_EXIST", err)
	}
	// The same request again gives the same code.
	again, err := e.client.TradePrecreate(ctx, req)
	if err != nil || again.QRCode != resp.QRCode {
		t.Fatalf("repeat: %v, %+v; want the same qr_code %s", err, again, resp.QRCode)
	}
	// Another amount for the same out_trade_no is refused.
	req.TotalAmount = 999
	if _, err := e.client.TradePrecreate(ctx, req); !errors.Is(err, alipay.SubCodeContextInconsistent) {
		t.Fatalf("changed repeat: %v, want ACQ.CONTEXT_INCONSISTENT", err)
	}

	// Scanning opens the cashier and makes the trade.
	hr, err := e.ts.Server.Client().Get(resp.QRCode)
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	q, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "PRE_1"})
	if err != nil {
		t.Fatal(err)
	}
	if q.TradeStatus != alipay.TradeStatusWaitBuyerPay || q.TotalAmount != 1234 || q.BuyerPayAmount != 0 {
		t.Errorf("after scan: %+v", q)
	}
	if len(q.TradeNo) != 28 || q.TradeNo[8:13] != "22001" {
		t.Errorf("trade_no %q is not in Alipay's format", q.TradeNo)
	}
	if err := e.ts.Sandbox.Pay(e.ts.AppID, "PRE_1"); err != nil {
		t.Fatal(err)
	}
	q, err = e.client.TradeQuery(ctx, alipay.TradeQueryRequest{TradeNo: q.TradeNo, QueryOptions: []string{"fund_bill_list"}})
	if err != nil {
		t.Fatal(err)
	}
	if q.TradeStatus != alipay.TradeStatusSuccess || q.BuyerPayAmount != 1234 || q.ReceiptAmount != 1234 || q.SendPayDate.IsZero() {
		t.Errorf("after pay: %+v", q)
	}
	if !userIDPattern.MatchString(q.BuyerUserID) || q.BuyerLogonID != sandboxBuyerLogonID {
		t.Errorf("buyer %q %q", q.BuyerUserID, q.BuyerLogonID)
	}
	if len(q.FundBillList) != 1 || q.FundBillList[0].FundChannel != "ALIPAYACCOUNT" || q.FundBillList[0].Amount != 1234 {
		t.Errorf("fund_bill_list %+v", q.FundBillList)
	}
	// Paid: the request cannot be made again, nor paid twice.
	req.TotalAmount = 1234
	if _, err := e.client.TradePrecreate(ctx, req); !errors.Is(err, alipay.SubCodeTradeHasSuccess) {
		t.Errorf("precreate of a paid trade: %v, want ACQ.TRADE_HAS_SUCCESS", err)
	}
	if err := e.ts.Sandbox.Pay(e.ts.AppID, "PRE_1"); !errors.Is(err, alipay.SubCodeTradeHasSuccess) {
		t.Errorf("second Pay: %v, want ACQ.TRADE_HAS_SUCCESS", err)
	}
	var kinds []EventKind
	for _, ev := range e.ts.Events() {
		kinds = append(kinds, ev.Kind)
	}
	if want := []EventKind{EventCreated, EventPaid}; !equal(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCreateThenClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const buyer = "2088102177846880"
	req := alipay.TradeCreateRequest{OutTradeNo: "CR_1", TotalAmount: 100, Subject: "Mini", BuyerID: buyer}
	resp, err := e.client.TradeCreate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.TradeCreate(ctx, req)
	if err != nil || again.TradeNo != resp.TradeNo {
		t.Fatalf("repeat: %v %+v, want trade %s", err, again, resp.TradeNo)
	}
	q, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "CR_1"})
	if err != nil || q.TradeStatus != alipay.TradeStatusWaitBuyerPay || q.BuyerUserID != buyer {
		t.Fatalf("query: %v %+v", err, q)
	}
	if _, err := e.client.TradeClose(ctx, alipay.TradeCloseRequest{TradeNo: resp.TradeNo}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.TradeClose(ctx, alipay.TradeCloseRequest{TradeNo: resp.TradeNo}); !errors.Is(err, alipay.SubCodeTradeStatusError) {
		t.Errorf("second close: %v, want ACQ.TRADE_STATUS_ERROR", err)
	}
	if _, err := e.client.TradeCreate(ctx, req); !errors.Is(err, alipay.SubCodeTradeHasClose) {
		t.Errorf("create of a closed trade: %v, want ACQ.TRADE_HAS_CLOSE", err)
	}
	if err := e.ts.Sandbox.Pay(e.ts.AppID, "CR_1"); !errors.Is(err, alipay.SubCodeTradeHasClose) {
		t.Errorf("Pay of a closed trade: %v, want ACQ.TRADE_HAS_CLOSE", err)
	}
	snap, ok := e.ts.Sandbox.Trade(e.ts.AppID, "CR_1")
	if !ok || snap.Status != alipay.TradeStatusClosed || snap.GmtClose.IsZero() {
		t.Errorf("snapshot %+v", snap)
	}
}

func TestCreateNeedsBuyer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.call(e.sign(e.params("alipay.trade.create", `{"out_trade_no":"CR_2","total_amount":"1.00","subject":"x"}`), nil))
	if a.node["code"] != "40004" || a.node["sub_code"] != "ACQ.INVALID_PARAMETER" {
		t.Errorf("node %v", a.node)
	}
}

func TestTradePayAuthCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name, code string
		paying     bool
		sub        alipay.SubCode
		trade      bool
	}{
		{"success", AuthCodeSuccess, false, "", true},
		{"any valid code", "251234567890123456789", false, "", true},
		{"wait for the buyer", AuthCodeWaitBuyerPay, true, "", true},
		{"balance", AuthCodeBalanceNotEnough, false, alipay.SubCodeBuyerBalanceNotEnough, false},
		{"invalid", AuthCodeInvalid, false, alipay.SubCodePaymentAuthCodeInvalid, false},
		{"not an Alipay code", "1234567890123456", false, alipay.SubCodePaymentAuthCodeInvalid, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			no := "PAY_" + strings.ReplaceAll(tc.name, " ", "_")
			resp, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: no, AuthCode: tc.code, TotalAmount: 5000, Subject: "Shop"})
			if tc.sub != "" {
				if !errors.Is(err, tc.sub) {
					t.Fatalf("err %v, want %s", err, tc.sub)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if resp.Paying != tc.paying || resp.TotalAmount != 5000 || resp.TradeNo == "" {
				t.Fatalf("resp %+v", resp)
			} else if !tc.paying && (resp.BuyerPayAmount != 5000 || resp.GmtPayment.IsZero() || len(resp.FundBillList) != 1) {
				t.Fatalf("paid resp %+v", resp)
			}
			snap, ok := e.ts.Sandbox.Trade(e.ts.AppID, no)
			if ok != tc.trade {
				t.Fatalf("trade exists: %v, want %v", ok, tc.trade)
			}
			want := alipay.TradeStatusSuccess
			if tc.paying {
				want = alipay.TradeStatusWaitBuyerPay
			}
			if ok && snap.Status != want {
				t.Errorf("status %s, want %s", snap.Status, want)
			}
		})
	}
}

func TestTradePayWaitThenCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: "W1", AuthCode: AuthCodeWaitBuyerPay, TotalAmount: 100, Subject: "x"})
	if err != nil || !resp.Paying {
		t.Fatalf("%v %+v", err, resp)
	}
	c, err := e.client.TradeCancel(ctx, alipay.TradeCancelRequest{OutTradeNo: "W1"})
	if err != nil || c.Action != alipay.CancelActionClose || c.ShouldRetry() {
		t.Fatalf("cancel: %v %+v", err, c)
	}
	// Idempotent.
	c, err = e.client.TradeCancel(ctx, alipay.TradeCancelRequest{OutTradeNo: "W1"})
	if err != nil || c.Action != alipay.CancelActionClose {
		t.Fatalf("cancel again: %v %+v", err, c)
	}
	if _, err := e.client.TradeCancel(ctx, alipay.TradeCancelRequest{OutTradeNo: "NOPE"}); !alipay.IsTradeNotExist(err) {
		t.Errorf("cancel of nothing: %v", err)
	}

	// A paid trade is refunded in full.
	if _, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: "W2", AuthCode: AuthCodeSuccess, TotalAmount: 300, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "W2", RefundAmount: 100, OutRequestNo: "R1"}); err != nil {
		t.Fatal(err)
	}
	c, err = e.client.TradeCancel(ctx, alipay.TradeCancelRequest{OutTradeNo: "W2"})
	if err != nil || c.Action != alipay.CancelActionRefund || c.GmtRefundPay.IsZero() {
		t.Fatalf("cancel of paid: %v %+v", err, c)
	}
	snap, _ := e.ts.Sandbox.Trade(e.ts.AppID, "W2")
	if snap.Status != alipay.TradeStatusClosed || snap.RefundFee != 300 {
		t.Errorf("after cancel: %s refunded %v", snap.Status, snap.RefundFee)
	}
}
