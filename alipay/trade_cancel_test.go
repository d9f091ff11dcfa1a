package alipay

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTradeCancel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		node  string
		want  *TradeCancelResponse
		retry bool
	}{
		{
			name: "unpaid, closed",
			node: `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890","out_trade_no":"ORDER_1","retry_flag":"N","action":"close"}`,
			want: &TradeCancelResponse{TradeNo: "2024052022001400001234567890", OutTradeNo: "ORDER_1", RetryFlag: "N", Action: CancelActionClose},
		},
		{
			name: "paid, refunded",
			node: `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890","out_trade_no":"ORDER_1","retry_flag":"N",` +
				`"action":"refund","gmt_refund_pay":"2024-05-20 12:36:00"}`,
			want: &TradeCancelResponse{TradeNo: "2024052022001400001234567890", OutTradeNo: "ORDER_1", RetryFlag: "N", Action: CancelActionRefund,
				GmtRefundPay: Time{time.Date(2024, 5, 20, 12, 36, 0, 0, beijing)}},
		},
		{
			name:  "not settled yet",
			node:  `{"code":"10000","msg":"Success","out_trade_no":"ORDER_1","retry_flag":"Y"}`,
			want:  &TradeCancelResponse{OutTradeNo: "ORDER_1", RetryFlag: "Y"},
			retry: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.cancel", tc.node))
			resp, err := g.client().TradeCancel(context.Background(), TradeCancelRequest{OutTradeNo: "ORDER_1", AppAuthToken: "202405BB_token"})
			if err != nil {
				t.Fatal(err)
			}
			wantBiz(t, g, `{"out_trade_no":"ORDER_1"}`)
			if got := g.last().Get("app_auth_token"); got != "202405BB_token" {
				t.Errorf("app_auth_token = %q", got)
			}
			if !reflect.DeepEqual(resp, tc.want) {
				t.Errorf("response\n got %+v\nwant %+v", resp, tc.want)
			}
			if resp.ShouldRetry() != tc.retry {
				t.Errorf("ShouldRetry() = %v", resp.ShouldRetry())
			}
		})
	}
}

func TestTradeCancelAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		node  string
		check func(error) bool
	}{
		{"system error, retry", `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"系统错误","retry_flag":"Y"}`, IsUnknown},
		{"another trade", `{"code":"10000","msg":"Success","out_trade_no":"ORDER_2","retry_flag":"N","action":"refund"}`, func(err error) bool {
			return IsUnknown(err) && strings.Contains(err.Error(), `about out_trade_no "ORDER_2"`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.cancel", tc.node))
			resp, err := g.client().TradeCancel(context.Background(), TradeCancelRequest{OutTradeNo: "ORDER_1"})
			if resp != nil || err == nil || !tc.check(err) {
				t.Fatalf("resp %+v, err %v", resp, err)
			}
		})
	}
}
