package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// answer returns an answer function for newTestGateway that checks the
// method called and answers node.
func answer(t testing.TB, method, node string) func(string, map[string]any) string {
	return func(m string, _ map[string]any) string {
		if m != method {
			t.Errorf("method %q, want %q", m, method)
		}
		return node
	}
}

// refuse is the answer function of tests whose request must never reach
// the gateway.
func refuse(t testing.TB) func(string, map[string]any) string {
	return func(m string, _ map[string]any) string {
		t.Errorf("%s was sent despite bad input", m)
		return `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.INVALID_PARAMETER"}`
	}
}

// businessFailure is a response node with code 40004 and subCode.
func businessFailure(subCode SubCode) string {
	return `{"code":"40004","msg":"Business Failed","sub_code":"` + string(subCode) + `","sub_msg":"业务失败"}`
}

// wantBadInput checks that err refuses bad input before anything was sent:
// an "alipay: " message that says want, and a known outcome.
func wantBadInput(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", want)
	}
	if !strings.HasPrefix(err.Error(), "alipay: ") || strings.Contains(err.Error(), "alipay: alipay:") {
		t.Errorf("error %q lacks the prefix or repeats it", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if IsUnknown(err) {
		t.Errorf("bad input reported as an unknown outcome: %v", err)
	}
	if _, ok := errors.AsType[*Error](err); ok {
		t.Errorf("bad input reported as Alipay's answer: %v", err)
	}
}

// wantBiz checks the biz_content of the last request g received, byte for
// byte: field order, amounts as strings, no empty fields.
func wantBiz(t *testing.T, g *testGateway, want string) {
	t.Helper()
	if got := g.last().Get("biz_content"); got != want {
		t.Errorf("biz_content\n got %s\nwant %s", got, want)
	}
}

// TestTradeRefChecks runs the checks of the trade a request names through
// every method that names one.
func TestTradeRefChecks(t *testing.T) {
	t.Parallel()
	calls := map[string]func(c *Client, outTradeNo, tradeNo string) error{
		"query": func(c *Client, o, n string) error {
			_, err := c.TradeQuery(context.Background(), TradeQueryRequest{OutTradeNo: o, TradeNo: n})
			return err
		},
		"refund": func(c *Client, o, n string) error {
			_, err := c.TradeRefund(context.Background(), TradeRefundRequest{OutTradeNo: o, TradeNo: n, RefundAmount: 1, OutRequestNo: "R1"})
			return err
		},
		"refund query": func(c *Client, o, n string) error {
			_, err := c.TradeFastpayRefundQuery(context.Background(), TradeFastpayRefundQueryRequest{OutTradeNo: o, TradeNo: n, OutRequestNo: "R1"})
			return err
		},
		"close": func(c *Client, o, n string) error {
			_, err := c.TradeClose(context.Background(), TradeCloseRequest{OutTradeNo: o, TradeNo: n})
			return err
		},
		"cancel": func(c *Client, o, n string) error {
			_, err := c.TradeCancel(context.Background(), TradeCancelRequest{OutTradeNo: o, TradeNo: n})
			return err
		},
	}
	for _, tc := range []struct {
		name, outTradeNo, tradeNo, want string
	}{
		{"neither", "", "", "OutTradeNo and TradeNo are both empty"},
		{"bad out_trade_no", "ORDER-1", "", `OutTradeNo "ORDER-1" may hold only letters, digits and underscores`},
		{"long out_trade_no", strings.Repeat("1", 65), "", "OutTradeNo is 65 characters long"},
		{"short trade_no", "", "202405202200", "TradeNo is 12 characters long; Alipay takes 16 to 64"},
		{"long trade_no", "", strings.Repeat("2", 65), "TradeNo is 65 characters long"},
		{"trade_no with space", "", "2024052022001400 1", `TradeNo "2024052022001400 1" has unexpected character ' ' at offset 16`},
		{"bad trade_no beside good out_trade_no", "ORDER_1", "2024\n052022001400001", "TradeNo"},
	} {
		for name, call := range calls {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				g := newTestGateway(t, refuse(t))
				wantBadInput(t, call(g.client(), tc.outTradeNo, tc.tradeNo), tc.want)
			})
		}
	}
}

func TestFundBillSpellings(t *testing.T) {
	t.Parallel()
	want := []FundBill{
		{FundChannel: "ALIPAYACCOUNT", Amount: 1200, RealAmount: 1200},
		{FundChannel: "COUPON", Amount: 34},
	}
	for _, tc := range []struct{ name, json string }{
		{"snake_case of responses", `[{"fund_channel":"ALIPAYACCOUNT","amount":"12.00","real_amount":"12.00"},{"fund_channel":"COUPON","amount":"0.34"}]`},
		{"camelCase of notifies", `[{"fundChannel":"ALIPAYACCOUNT","amount":"12.00","realAmount":"12.00"},{"fundChannel":"COUPON","amount":"0.34"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []FundBill
			if err := json.Unmarshal([]byte(tc.json), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
	var got []FundBill
	err := json.Unmarshal([]byte(`[{"fund_channel":"ALIPAYACCOUNT","amount":12.001}]`), &got)
	if err == nil || !strings.HasPrefix(err.Error(), "alipay: fund_bill_list: ") || strings.Contains(err.Error(), "alipay: alipay:") {
		t.Fatalf("bad amount: %v", err)
	}
}

// TestResponseRoundTrip checks that responses marshaled by this package
// (fund bills in camelCase) read back the same.
func TestResponseRoundTrip(t *testing.T) {
	t.Parallel()
	for _, v := range []any{
		&TradeQueryResponse{TradeNo: "2024052022001400001234567890", TradeStatus: TradeStatusSuccess, TotalAmount: 1234,
			FundBillList: []FundBill{{FundChannel: "PCREDIT", Amount: 1234, RealAmount: 1200}}},
		&TradePayResponse{TradeNo: "2024052022001400001234567890", TotalAmount: 1,
			FundBillList: []FundBill{{FundChannel: "ALIPAYACCOUNT", Amount: 1}}},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if err := json.Unmarshal(b, back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, v) {
			t.Errorf("%s read back as %+v", b, back)
		}
	}
}
