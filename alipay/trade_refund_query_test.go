package alipay

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const refundQuerySuccess = `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890","out_trade_no":"ORDER_1",` +
	`"out_request_no":"ORDER_1_R2","refund_reason":"缺货","total_amount":"88.88","refund_amount":"10.00",` +
	`"refund_status":"REFUND_SUCCESS","gmt_refund_pay":"2024-05-20 12:35:02.320"}`

func TestTradeFastpayRefundQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		node      string
		want      *TradeFastpayRefundQueryResponse
		succeeded bool
	}{
		{
			name: "refunded",
			node: refundQuerySuccess,
			want: &TradeFastpayRefundQueryResponse{
				TradeNo: "2024052022001400001234567890", OutTradeNo: "ORDER_1", OutRequestNo: "ORDER_1_R2",
				RefundReason: "缺货", TotalAmount: 8888, RefundAmount: 1000, RefundStatus: RefundStatusSuccess,
				GmtRefundPay: Time{time.Date(2024, 5, 20, 12, 35, 2, 320e6, beijing)},
			},
			succeeded: true,
		},
		{
			// Alipay's answer when it has not received the refund, is still
			// processing it, or it failed: success, and no refund fields.
			name:      "not received, processing or failed",
			node:      `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890","out_trade_no":"ORDER_1"}`,
			want:      &TradeFastpayRefundQueryResponse{TradeNo: "2024052022001400001234567890", OutTradeNo: "ORDER_1"},
			succeeded: false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.fastpay.refund.query", tc.node))
			resp, err := g.client().TradeFastpayRefundQuery(context.Background(), TradeFastpayRefundQueryRequest{
				OutTradeNo: "ORDER_1", OutRequestNo: "ORDER_1_R2", QueryOptions: []string{"gmt_refund_pay"},
			})
			if err != nil {
				t.Fatal(err)
			}
			wantBiz(t, g, `{"out_trade_no":"ORDER_1","out_request_no":"ORDER_1_R2","query_options":["gmt_refund_pay"]}`)
			if !reflect.DeepEqual(resp, tc.want) {
				t.Errorf("response\n got %+v\nwant %+v", resp, tc.want)
			}
			if resp.Succeeded() != tc.succeeded {
				t.Errorf("Succeeded() = %v", resp.Succeeded())
			}
		})
	}
}

func TestTradeFastpayRefundQueryAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		node  string
		check func(error) bool
	}{
		{"no trade", businessFailure(SubCodeTradeNotExist), func(err error) bool { return IsTradeNotExist(err) && !IsUnknown(err) }},
		{"system error", businessFailure(SubCodeSystemError), IsUnknown},
		{"another refund", strings.Replace(refundQuerySuccess, "ORDER_1_R2", "ORDER_1_R1", 1), func(err error) bool {
			return IsUnknown(err) && strings.Contains(err.Error(), `about out_request_no "ORDER_1_R1", not "ORDER_1_R2"`)
		}},
		{"another trade", strings.Replace(refundQuerySuccess, `"ORDER_1"`, `"ORDER_3"`, 1), IsUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.fastpay.refund.query", tc.node))
			resp, err := g.client().TradeFastpayRefundQuery(context.Background(), TradeFastpayRefundQueryRequest{OutTradeNo: "ORDER_1", OutRequestNo: "ORDER_1_R2"})
			if resp != nil || err == nil || !tc.check(err) {
				t.Fatalf("resp %+v, err %v", resp, err)
			}
			if _, ok := errors.AsType[*Error](err); !ok && !IsUnknown(err) {
				t.Fatalf("err %v is neither Alipay's answer nor unknown", err)
			}
		})
	}
}

func TestTradeFastpayRefundQueryBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		req  TradeFastpayRefundQueryRequest
		want string
	}{
		{"no out_request_no", TradeFastpayRefundQueryRequest{OutTradeNo: "ORDER_1"},
			"alipay: alipay.trade.fastpay.refund.query: OutRequestNo is required: it is the OutRequestNo the refund was sent with"},
		{"long out_request_no", TradeFastpayRefundQueryRequest{OutTradeNo: "ORDER_1", OutRequestNo: strings.Repeat("r", 65)}, "OutRequestNo is 65 characters long"},
		{"no trade", TradeFastpayRefundQueryRequest{OutRequestNo: "ORDER_1_R2"}, "OutTradeNo and TradeNo are both empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, refuse(t))
			_, err := g.client().TradeFastpayRefundQuery(context.Background(), tc.req)
			wantBadInput(t, err, tc.want)
		})
	}
}
