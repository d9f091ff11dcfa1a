package alipay

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const createSuccess = `{"code":"10000","msg":"Success","out_trade_no":"ORDER_1","trade_no":"2024052022001400001234567890"}`

func TestTradeCreate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		req     TradeCreateRequest
		wantBiz string
	}{
		{
			name:    "buyer id",
			req:     TradeCreateRequest{OutTradeNo: "ORDER_1", TotalAmount: 8888, Subject: "Tea", BuyerID: "2088102146225135"},
			wantBiz: `{"out_trade_no":"ORDER_1","total_amount":"88.88","subject":"Tea","product_code":"FACE_TO_FACE_PAYMENT","buyer_id":"2088102146225135"}`,
		},
		{
			name: "open id in a mini program",
			req: TradeCreateRequest{
				OutTradeNo: "ORDER_1", TotalAmount: 1, Subject: "Tea", ProductCode: ProductCodeJSAPIPay,
				BuyerOpenID: "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5", OpAppID: "2021000000000002",
				TimeoutExpress: "15m", StoreID: "S1",
			},
			wantBiz: `{"out_trade_no":"ORDER_1","total_amount":"0.01","subject":"Tea","product_code":"JSAPI_PAY",` +
				`"buyer_open_id":"074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5","op_app_id":"2021000000000002",` +
				`"timeout_express":"15m","store_id":"S1"}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.create", createSuccess))
			resp, err := g.client().TradeCreate(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if *resp != (TradeCreateResponse{OutTradeNo: "ORDER_1", TradeNo: "2024052022001400001234567890"}) {
				t.Errorf("response %+v", resp)
			}
			wantBiz(t, g, tc.wantBiz)
			if got := g.last().Get("notify_url"); got != "https://merchant.example.com/alipay/notify" {
				t.Errorf("notify_url = %q", got)
			}
		})
	}
}

func TestTradeCreateAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		node  string
		check func(error) bool
	}{
		{"buyer equals seller", businessFailure("ACQ.BUYER_SELLER_EQUAL"), func(err error) bool {
			return errors.Is(err, SubCode("ACQ.BUYER_SELLER_EQUAL")) && !IsUnknown(err)
		}},
		{"no trade_no", `{"code":"10000","msg":"Success","out_trade_no":"ORDER_1"}`, IsUnknown},
		{"another trade", strings.Replace(createSuccess, "ORDER_1", "ORDER_9", 1), IsUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.create", tc.node))
			resp, err := g.client().TradeCreate(context.Background(), TradeCreateRequest{OutTradeNo: "ORDER_1", TotalAmount: 1, Subject: "Tea", BuyerID: "2088102146225135"})
			if resp != nil || err == nil || !tc.check(err) {
				t.Fatalf("resp %+v, err %v", resp, err)
			}
		})
	}
}

func TestTradeCreateBadInput(t *testing.T) {
	t.Parallel()
	ok := TradeCreateRequest{OutTradeNo: "ORDER_1", TotalAmount: 1234, Subject: "Tea", BuyerID: "2088102146225135"}
	with := func(f func(*TradeCreateRequest)) TradeCreateRequest { r := ok; f(&r); return r }
	for _, tc := range []struct {
		name string
		req  TradeCreateRequest
		want string
	}{
		{"no buyer", with(func(r *TradeCreateRequest) { r.BuyerID = "" }), "alipay: alipay.trade.create: BuyerID and BuyerOpenID are both empty"},
		{"two buyers", with(func(r *TradeCreateRequest) { r.BuyerOpenID = "074a1CcTG1" }), "set BuyerID or BuyerOpenID, not both"},
		{"open id as user id", with(func(r *TradeCreateRequest) { r.BuyerID = "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5" }), "is not an Alipay user id"},
		{"short user id", with(func(r *TradeCreateRequest) { r.BuyerID = "208810214622513" }), "is not an Alipay user id"},
		{"open id with space", with(func(r *TradeCreateRequest) { r.BuyerID, r.BuyerOpenID = "", "074a1CcTG1 " }), "BuyerOpenID"},
		{"long op app id", with(func(r *TradeCreateRequest) { r.OpAppID = strings.Repeat("2", 33) }), "OpAppID is 33 characters long"},
		{"no amount", with(func(r *TradeCreateRequest) { r.TotalAmount = 0 }), "TotalAmount"},
		{"bad out_trade_no", with(func(r *TradeCreateRequest) { r.OutTradeNo = "订单1" }), "OutTradeNo"},
		{"long store id", with(func(r *TradeCreateRequest) { r.StoreID = strings.Repeat("s", 33) }), "StoreID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, refuse(t))
			_, err := g.client().TradeCreate(context.Background(), tc.req)
			wantBadInput(t, err, tc.want)
		})
	}
}
