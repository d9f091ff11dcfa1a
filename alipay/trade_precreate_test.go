package alipay

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const precreateSuccess = `{"code":"10000","msg":"Success","out_trade_no":"ORDER_1","qr_code":"https:\/\/qr.alipay.com\/bax03431ljhokirwl38f00a7"}`

func TestTradePrecreate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		req        TradePrecreateRequest
		wantBiz    string
		wantParams map[string]string
	}{
		{
			name:    "minimal",
			req:     TradePrecreateRequest{OutTradeNo: "ORDER_1", TotalAmount: 1234, Subject: "Tea"},
			wantBiz: `{"out_trade_no":"ORDER_1","total_amount":"12.34","subject":"Tea","product_code":"FACE_TO_FACE_PAYMENT"}`,
			wantParams: map[string]string{
				"method":     "alipay.trade.precreate",
				"notify_url": "https://merchant.example.com/alipay/notify",
			},
		},
		{
			name: "every field",
			req: TradePrecreateRequest{
				OutTradeNo: "ORDER_1", TotalAmount: 100, Subject: "茶", ProductCode: "OTHER_PRODUCT",
				Body: "Tea & Cake <2>", TimeoutExpress: "90m",
				TimeExpire:  Time{time.Date(2024, 5, 20, 13, 4, 56, 0, beijing)},
				GoodsDetail: []GoodsDetail{{GoodsID: "G1", GoodsName: "Tea", Quantity: 2, Price: 50}},
				StoreID:     "S1", OperatorID: "OP1", TerminalID: "T1",
				NotifyURL: "https://shop.example.com/n?x=1", AppAuthToken: "202405BB_token",
			},
			wantBiz: `{"out_trade_no":"ORDER_1","total_amount":"1.00","subject":"茶","product_code":"OTHER_PRODUCT",` +
				`"body":"Tea & Cake <2>","timeout_express":"90m","time_expire":"2024-05-20 13:04:56",` +
				`"goods_detail":[{"goods_id":"G1","goods_name":"Tea","quantity":2,"price":"0.50"}],` +
				`"store_id":"S1","operator_id":"OP1","terminal_id":"T1"}`,
			wantParams: map[string]string{
				"notify_url":     "https://shop.example.com/n?x=1",
				"app_auth_token": "202405BB_token",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.precreate", precreateSuccess))
			resp, err := g.client().TradePrecreate(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.OutTradeNo != "ORDER_1" || resp.QRCode != "https://qr.alipay.com/bax03431ljhokirwl38f00a7" {
				t.Errorf("response %+v", resp)
			}
			wantBiz(t, g, tc.wantBiz)
			for k, v := range tc.wantParams {
				if got := g.last().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestTradePrecreateAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		node  string
		check func(error) bool
	}{
		{"business failure", businessFailure(SubCodeContextInconsistent), func(err error) bool {
			e, ok := errors.AsType[*Error](err)
			return ok && e.Code == CodeBusinessFailed && errors.Is(err, SubCodeContextInconsistent) && !IsUnknown(err)
		}},
		{"system error", `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error"}`, IsUnknown},
		{"another trade", strings.Replace(precreateSuccess, "ORDER_1", "ORDER_2", 1), func(err error) bool {
			return IsUnknown(err) && strings.Contains(err.Error(), `about out_trade_no "ORDER_2", not "ORDER_1"`)
		}},
		{"no qr_code", `{"code":"10000","msg":"Success","out_trade_no":"ORDER_1"}`, IsUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.precreate", tc.node))
			resp, err := g.client().TradePrecreate(context.Background(), TradePrecreateRequest{OutTradeNo: "ORDER_1", TotalAmount: 1, Subject: "Tea"})
			if resp != nil || err == nil || !tc.check(err) {
				t.Fatalf("resp %+v, err %v", resp, err)
			}
		})
	}
}

func TestTradePrecreateBadInput(t *testing.T) {
	t.Parallel()
	ok := TradePrecreateRequest{OutTradeNo: "ORDER_1", TotalAmount: 1234, Subject: "Tea"}
	with := func(f func(*TradePrecreateRequest)) TradePrecreateRequest { r := ok; f(&r); return r }
	at := func(h, m, s int) Time { return Time{time.Date(2024, 5, 20, h, m, s, 0, beijing)} }
	for _, tc := range []struct {
		name string
		req  TradePrecreateRequest
		want string
	}{
		{"no out_trade_no", with(func(r *TradePrecreateRequest) { r.OutTradeNo = "" }), "alipay: alipay.trade.precreate: OutTradeNo is empty"},
		{"zero amount", with(func(r *TradePrecreateRequest) { r.TotalAmount = 0 }), "TotalAmount: trade amount 0.00 out of range"},
		{"amount too large", with(func(r *TradePrecreateRequest) { r.TotalAmount = MaxTradeAmount + 1 }), "TotalAmount: trade amount 100000000.01 out of range"},
		{"no subject", with(func(r *TradePrecreateRequest) { r.Subject = " " }), "Subject is empty"},
		{"bad timeout", with(func(r *TradePrecreateRequest) { r.TimeoutExpress = "1.5h" }), `TimeoutExpress "1.5h"`},
		{"expiry passed", with(func(r *TradePrecreateRequest) { r.TimeExpire = at(12, 0, 0) }), "TimeExpire 2024-05-20 12:00:00 is less than a minute from now (2024-05-20 12:34:56)"},
		{"expiry too soon", with(func(r *TradePrecreateRequest) { r.TimeExpire = at(12, 35, 30) }), "less than a minute from now"},
		{"expiry too far", with(func(r *TradePrecreateRequest) { r.TimeExpire = Time{at(12, 34, 57).AddDate(0, 0, 15)} }), "more than 15 days from now"},
		{"long store id", with(func(r *TradePrecreateRequest) { r.StoreID = strings.Repeat("店", 33) }), "StoreID has 33 characters; Alipay accepts at most 32"},
		{"long operator id", with(func(r *TradePrecreateRequest) { r.OperatorID = strings.Repeat("o", 31) }), "OperatorID has 31 characters; Alipay accepts at most 30"},
		{"long terminal id", with(func(r *TradePrecreateRequest) { r.TerminalID = strings.Repeat("t", 33) }), "TerminalID has 33 characters"},
		{"bad notify url", with(func(r *TradePrecreateRequest) { r.NotifyURL = "/notify" }), "NotifyURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, refuse(t))
			_, err := g.client().TradePrecreate(context.Background(), tc.req)
			wantBadInput(t, err, tc.want)
		})
	}
}
