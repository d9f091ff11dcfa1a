package alipay

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	testAuthCode = "287634438256643941"
	paySuccess   = `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890","out_trade_no":"ORDER_1",` +
		`"buyer_logon_id":"tes***@example.com","total_amount":"88.88","receipt_amount":"88.88","buyer_pay_amount":"80.00",` +
		`"point_amount":"8.88","invoice_amount":"80.00","gmt_payment":"2024-05-20 12:35:01",` +
		`"fund_bill_list":[{"fund_channel":"ALIPAYACCOUNT","amount":"80.00"},{"fund_channel":"POINT","amount":"8.88","real_amount":"0.89"}],` +
		`"buyer_user_id":"2088102146225135","store_name":"Tea House"}`
	payPaying = `{"code":"10003","msg":" order success pay inprocess","trade_no":"2024052022001400001234567890","out_trade_no":"ORDER_1",` +
		`"buyer_logon_id":"tes***@example.com","total_amount":"88.88","buyer_user_id":"2088102146225135"}`
)

func payRequest() TradePayRequest {
	return TradePayRequest{OutTradeNo: "ORDER_1", AuthCode: testAuthCode, Subject: "Tea", TotalAmount: 8888}
}

func TestTradePay(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, answer(t, "alipay.trade.pay", paySuccess))
	req := payRequest()
	req.OperatorID, req.TerminalID = "OP1", "POS-7"
	req.QueryOptions = []string{"fund_bill_list"}
	resp, err := g.client().TradePay(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wantBiz(t, g, `{"out_trade_no":"ORDER_1","scene":"bar_code","auth_code":"287634438256643941","product_code":"FACE_TO_FACE_PAYMENT",`+
		`"subject":"Tea","total_amount":"88.88","operator_id":"OP1","terminal_id":"POS-7","query_options":["fund_bill_list"]}`)
	if got := g.last().Get("notify_url"); got != "https://merchant.example.com/alipay/notify" {
		t.Errorf("notify_url = %q", got)
	}
	want := &TradePayResponse{
		TradeNo: "2024052022001400001234567890", OutTradeNo: "ORDER_1", BuyerLogonID: "tes***@example.com",
		BuyerUserID: "2088102146225135", TotalAmount: 8888, ReceiptAmount: 8888, BuyerPayAmount: 8000,
		PointAmount: 888, InvoiceAmount: 8000, GmtPayment: Time{time.Date(2024, 5, 20, 12, 35, 1, 0, beijing)},
		FundBillList: []FundBill{{FundChannel: "ALIPAYACCOUNT", Amount: 8000}, {FundChannel: "POINT", Amount: 888, RealAmount: 89}},
		StoreName:    "Tea House",
	}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("response\n got %+v\nwant %+v", resp, want)
	}
	if resp.Paying {
		t.Error("a 10000 answer is Paying")
	}
}

// TestTradePayPaying checks the answer with code 10003: a trade created
// and waiting for the buyer, returned as a response, not an error.
func TestTradePayPaying(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, answer(t, "alipay.trade.pay", payPaying))
	resp, err := g.client().TradePay(context.Background(), payRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := &TradePayResponse{
		Paying:  true,
		TradeNo: "2024052022001400001234567890", OutTradeNo: "ORDER_1", BuyerLogonID: "tes***@example.com",
		BuyerUserID: "2088102146225135", TotalAmount: 8888,
	}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("response\n got %+v\nwant %+v", resp, want)
	}
}

func TestTradePayAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		node  string
		check func(error) bool
	}{
		{"bad code", businessFailure(SubCodePaymentAuthCodeInvalid), func(err error) bool {
			return errors.Is(err, SubCodePaymentAuthCodeInvalid) && !IsUnknown(err)
		}},
		{"no money", businessFailure(SubCodeBuyerBalanceNotEnough), func(err error) bool {
			return errors.Is(err, SubCodeBuyerBalanceNotEnough) && !IsUnknown(err)
		}},
		{"system error", `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`, IsUnknown},
		{"ACQ.SYSTEM_ERROR", businessFailure(SubCodeSystemError), IsUnknown},
		{"another amount", strings.Replace(paySuccess, `"total_amount":"88.88"`, `"total_amount":"0.01"`, 1), func(err error) bool {
			return IsUnknown(err) && strings.Contains(err.Error(), "total_amount 0.01, not 88.88")
		}},
		{"paying another trade", strings.Replace(payPaying, "ORDER_1", "ORDER_2", 1), IsUnknown},
		{"paying with a bad amount", strings.Replace(payPaying, `"88.88"`, `"88.888"`, 1), IsUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.pay", tc.node))
			resp, err := g.client().TradePay(context.Background(), payRequest())
			if resp != nil || err == nil || !tc.check(err) {
				t.Fatalf("resp %+v, err %v", resp, err)
			}
		})
	}
}

// TestTradePayUnsignedPaying checks that a 10003 Alipay did not sign is not
// taken as a trade in progress: anyone on the path could have written it.
func TestTradePayUnsignedPaying(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"error_response":{"code":"10003","msg":"pay inprocess","out_trade_no":"ORDER_1"}}`,
		`{"alipay_trade_pay_response":{"code":"10003","msg":"pay inprocess","out_trade_no":"ORDER_1"}}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
		defer srv.Close()
		c := newTestGateway(t, nil).client()
		c.gateway = srv.URL
		resp, err := c.TradePay(context.Background(), payRequest())
		if resp != nil || !IsUnknown(err) {
			t.Errorf("%s: resp %+v, err %v", body, resp, err)
		}
	}
}

func TestTradePayBadInput(t *testing.T) {
	t.Parallel()
	with := func(f func(*TradePayRequest)) TradePayRequest { r := payRequest(); f(&r); return r }
	for _, tc := range []struct {
		name string
		req  TradePayRequest
		want string
	}{
		{"no auth code", with(func(r *TradePayRequest) { r.AuthCode = "" }), "alipay: alipay.trade.pay: AuthCode is empty"},
		{"short auth code", with(func(r *TradePayRequest) { r.AuthCode = "287634438256643" }), "AuthCode has 15 characters; Alipay payment codes have 16 to 24 digits"},
		{"long auth code", with(func(r *TradePayRequest) { r.AuthCode = "2876344382566439412345678" }), "AuthCode has 25 characters"},
		{"auth code with letters", with(func(r *TradePayRequest) { r.AuthCode = "28763443825664394X" }), "AuthCode has a non-digit at offset 17"},
		{"auth code with space", with(func(r *TradePayRequest) { r.AuthCode = " 28763443825664394" }), "AuthCode has a non-digit at offset 0"},
		{"face token with space", with(func(r *TradePayRequest) { r.Scene, r.AuthCode = PaySceneSecurityCode, "fp 123" }), "AuthCode has a space"},
		{"no face token", with(func(r *TradePayRequest) { r.Scene, r.AuthCode = PaySceneSecurityCode, "" }), "AuthCode is empty; it is the buyer's face token"},
		{"unknown scene", with(func(r *TradePayRequest) { r.Scene = "wave" }), `Scene "wave" is neither "bar_code" nor "security_code"`},
		{"no amount", with(func(r *TradePayRequest) { r.TotalAmount = 0 }), "TotalAmount"},
		{"no subject", with(func(r *TradePayRequest) { r.Subject = "" }), "Subject is empty"},
		{"long operator id", with(func(r *TradePayRequest) { r.OperatorID = strings.Repeat("o", 31) }), "OperatorID"},
		{"bad notify url", with(func(r *TradePayRequest) { r.NotifyURL = "ftp://shop.example.com/n" }), "NotifyURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, refuse(t))
			_, err := g.client().TradePay(context.Background(), tc.req)
			wantBadInput(t, err, tc.want)
			if tc.req.AuthCode != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.req.AuthCode)) {
				t.Errorf("error %q quotes the buyer's code", err)
			}
		})
	}
}

func TestTradePayFaceToken(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, answer(t, "alipay.trade.pay", paySuccess))
	req := payRequest()
	req.Scene, req.AuthCode = PaySceneSecurityCode, "fp0b7c0c6c9a5b4d2a8c1f3e5d7b9a1c3e"
	if _, err := g.client().TradePay(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	wantBiz(t, g, `{"out_trade_no":"ORDER_1","scene":"security_code","auth_code":"fp0b7c0c6c9a5b4d2a8c1f3e5d7b9a1c3e","product_code":"FACE_TO_FACE_PAYMENT",`+
		`"subject":"Tea","total_amount":"88.88"}`)
}
