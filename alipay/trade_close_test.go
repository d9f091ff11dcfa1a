package alipay

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const closeSuccess = `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890","out_trade_no":"ORDER_1"}`

func TestTradeClose(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		req     TradeCloseRequest
		wantBiz string
	}{
		{"by out_trade_no", TradeCloseRequest{OutTradeNo: "ORDER_1"}, `{"out_trade_no":"ORDER_1"}`},
		{"by trade_no, with operator", TradeCloseRequest{TradeNo: "2024052022001400001234567890", OperatorID: "OP1"},
			`{"trade_no":"2024052022001400001234567890","operator_id":"OP1"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.close", closeSuccess))
			resp, err := g.client().TradeClose(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			wantBiz(t, g, tc.wantBiz)
			if *resp != (TradeCloseResponse{TradeNo: "2024052022001400001234567890", OutTradeNo: "ORDER_1"}) {
				t.Errorf("response %+v", resp)
			}
		})
	}
}

func TestTradeCloseAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		node  string
		check func(error) bool
	}{
		// The buyer never opened the cashier: closed, as far as the
		// merchant is concerned.
		{"not created yet", businessFailure(SubCodeTradeNotExist), func(err error) bool { return IsTradeNotExist(err) && !IsUnknown(err) }},
		// The buyer has just paid: anything but closed.
		{"paid", businessFailure(SubCodeTradeStatusError), func(err error) bool {
			return errors.Is(err, SubCodeTradeStatusError) && !IsTradeNotExist(err) && !IsUnknown(err)
		}},
		{"system error", businessFailure(SubCodeSystemError), IsUnknown},
		{"another trade", strings.Replace(closeSuccess, `"ORDER_1"`, `"ORDER_2"`, 1), IsUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.close", tc.node))
			resp, err := g.client().TradeClose(context.Background(), TradeCloseRequest{OutTradeNo: "ORDER_1"})
			if resp != nil || err == nil || !tc.check(err) {
				t.Fatalf("resp %+v, err %v", resp, err)
			}
		})
	}
}

func TestTradeCloseBadInput(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, refuse(t))
	_, err := g.client().TradeClose(context.Background(), TradeCloseRequest{OutTradeNo: "ORDER_1", OperatorID: strings.Repeat("o", 31)})
	wantBadInput(t, err, "alipay: alipay.trade.close: OperatorID has 31 characters; Alipay accepts at most 30")
}
