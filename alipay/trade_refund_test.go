package alipay

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func refundNode(fundChange string) string {
	return `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890","out_trade_no":"ORDER_1",` +
		`"buyer_logon_id":"tes***@example.com","fund_change":"` + fundChange + `","refund_fee":"30.00",` +
		`"gmt_refund_pay":"2024-05-20 12:35:02","send_back_fee":"10.00","buyer_user_id":"2088102146225135"}`
}

func refundRequest() TradeRefundRequest {
	return TradeRefundRequest{OutTradeNo: "ORDER_1", RefundAmount: 1000, OutRequestNo: "ORDER_1_R2"}
}

func TestTradeRefund(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		fundChange string
		moved      bool
	}{
		{"money moved", "Y", true},
		{"repeat or not through yet", "N", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.refund", refundNode(tc.fundChange)))
			req := refundRequest()
			req.TradeNo, req.RefundReason, req.OperatorID, req.StoreID, req.TerminalID = "2024052022001400001234567890", "缺货 & refund", "OP1", "S1", "T1"
			req.QueryOptions = []string{"send_back_fee"}
			req.AppAuthToken = "202405BB_token"
			resp, err := g.client().TradeRefund(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			wantBiz(t, g, `{"out_trade_no":"ORDER_1","trade_no":"2024052022001400001234567890","refund_amount":"10.00",`+
				`"out_request_no":"ORDER_1_R2","refund_reason":"缺货 & refund","operator_id":"OP1","store_id":"S1","terminal_id":"T1",`+
				`"query_options":["send_back_fee"]}`)
			if got := g.last().Get("app_auth_token"); got != "202405BB_token" || g.last().Has("notify_url") {
				t.Errorf("app_auth_token %q, notify_url %q", got, g.last().Get("notify_url"))
			}
			want := &TradeRefundResponse{
				TradeNo: "2024052022001400001234567890", OutTradeNo: "ORDER_1", BuyerLogonID: "tes***@example.com",
				BuyerUserID: "2088102146225135", FundChange: tc.fundChange, RefundFee: 3000,
				GmtRefundPay: Time{time.Date(2024, 5, 20, 12, 35, 2, 0, beijing)}, SendBackFee: 1000,
			}
			if !reflect.DeepEqual(resp, want) {
				t.Errorf("response\n got %+v\nwant %+v", resp, want)
			}
			if resp.MoneyMoved() != tc.moved {
				t.Errorf("MoneyMoved() = %v with fund_change %q", resp.MoneyMoved(), tc.fundChange)
			}
		})
	}
}

func TestTradeRefundMinimal(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, answer(t, "alipay.trade.refund", refundNode("Y")))
	if _, err := g.client().TradeRefund(context.Background(), refundRequest()); err != nil {
		t.Fatal(err)
	}
	wantBiz(t, g, `{"out_trade_no":"ORDER_1","refund_amount":"10.00","out_request_no":"ORDER_1_R2"}`)
}

func TestTradeRefundAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		node  string
		check func(error) bool
	}{
		{"too much", businessFailure(SubCodeRefundAmountExceeded), func(err error) bool {
			e, ok := errors.AsType[*Error](err)
			return ok && e.Method == "alipay.trade.refund" && errors.Is(err, SubCodeRefundAmountExceeded) && !IsUnknown(err)
		}},
		{"finished", businessFailure(SubCodeTradeHasFinished), func(err error) bool { return errors.Is(err, SubCodeTradeHasFinished) }},
		{"same out_request_no, other refund", businessFailure(SubCodeDiscordantRepeatRequest), func(err error) bool {
			return errors.Is(err, SubCodeDiscordantRepeatRequest) && !IsUnknown(err)
		}},
		{"ACQ.SYSTEM_ERROR", businessFailure(SubCodeSystemError), IsUnknown},
		{"service unavailable", `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`, IsUnknown},
		{"another trade", strings.Replace(refundNode("Y"), `"ORDER_1"`, `"ORDER_2"`, 1), IsUnknown},
		{"bad refund_fee", strings.Replace(refundNode("Y"), `"30.00"`, `"30.001"`, 1), IsUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.refund", tc.node))
			resp, err := g.client().TradeRefund(context.Background(), refundRequest())
			if resp != nil || err == nil || !tc.check(err) {
				t.Fatalf("resp %+v, err %v", resp, err)
			}
		})
	}
}

func TestTradeRefundBadInput(t *testing.T) {
	t.Parallel()
	with := func(f func(*TradeRefundRequest)) TradeRefundRequest { r := refundRequest(); f(&r); return r }
	for _, tc := range []struct {
		name string
		req  TradeRefundRequest
		want string
	}{
		{"no out_request_no", with(func(r *TradeRefundRequest) { r.OutRequestNo = "" }),
			"alipay: alipay.trade.refund: OutRequestNo is required: it makes the refund idempotent; reuse it when you retry"},
		{"long out_request_no", with(func(r *TradeRefundRequest) { r.OutRequestNo = strings.Repeat("R", 65) }), "OutRequestNo is 65 characters long; Alipay takes 1 to 64"},
		{"out_request_no with space", with(func(r *TradeRefundRequest) { r.OutRequestNo = "R2 " }), `OutRequestNo "R2 " has unexpected character ' '`},
		{"zero amount", with(func(r *TradeRefundRequest) { r.RefundAmount = 0 }), "RefundAmount: trade amount 0.00 out of range"},
		{"negative amount", with(func(r *TradeRefundRequest) { r.RefundAmount = -100 }), "RefundAmount: trade amount -1.00 out of range"},
		{"amount too large", with(func(r *TradeRefundRequest) { r.RefundAmount = MaxTradeAmount + 1 }), "RefundAmount"},
		{"long reason", with(func(r *TradeRefundRequest) { r.RefundReason = strings.Repeat("因", 257) }), "RefundReason has 257 characters; Alipay accepts at most 256"},
		{"reason not UTF-8", with(func(r *TradeRefundRequest) { r.RefundReason = "\xff" }), "RefundReason is not valid UTF-8"},
		{"long operator", with(func(r *TradeRefundRequest) { r.OperatorID = strings.Repeat("o", 31) }), "OperatorID has 31 characters"},
		{"long store", with(func(r *TradeRefundRequest) { r.StoreID = strings.Repeat("s", 33) }), "StoreID has 33 characters"},
		{"long terminal", with(func(r *TradeRefundRequest) { r.TerminalID = strings.Repeat("t", 33) }), "TerminalID has 33 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, refuse(t))
			_, err := g.client().TradeRefund(context.Background(), tc.req)
			wantBadInput(t, err, tc.want)
		})
	}
}
