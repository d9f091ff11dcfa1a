package alipay

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const querySuccess = `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890","out_trade_no":"ORDER_1",` +
	`"buyer_logon_id":"tes***@example.com","trade_status":"TRADE_SUCCESS","total_amount":"88.88","buyer_pay_amount":"80.00",` +
	`"point_amount":"8.88","invoice_amount":"80.00","send_pay_date":"2024-05-20 12:35:01","receipt_amount":"88.88",` +
	`"store_id":"S1","terminal_id":"POS-7","store_name":"Tea House","buyer_user_id":"2088102146225135",` +
	`"fund_bill_list":[{"fund_channel":"ALIPAYACCOUNT","amount":"80.00"},{"fund_channel":"POINT","amount":"8.88","real_amount":"0.89"}]}`

func TestTradeQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		req     TradeQueryRequest
		wantBiz string
	}{
		{"by out_trade_no", TradeQueryRequest{OutTradeNo: "ORDER_1"}, `{"out_trade_no":"ORDER_1"}`},
		{"by trade_no", TradeQueryRequest{TradeNo: "2024052022001400001234567890"}, `{"trade_no":"2024052022001400001234567890"}`},
		{"by both, with options", TradeQueryRequest{OutTradeNo: "ORDER_1", TradeNo: "2024052022001400001234567890", QueryOptions: []string{"fund_bill_list"}},
			`{"out_trade_no":"ORDER_1","trade_no":"2024052022001400001234567890","query_options":["fund_bill_list"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.query", querySuccess))
			resp, err := g.client().TradeQuery(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			wantBiz(t, g, tc.wantBiz)
			if g.last().Has("notify_url") {
				t.Error("a query sent notify_url")
			}
			want := &TradeQueryResponse{
				TradeNo: "2024052022001400001234567890", OutTradeNo: "ORDER_1", TradeStatus: TradeStatusSuccess,
				TotalAmount: 8888, BuyerPayAmount: 8000, ReceiptAmount: 8888, InvoiceAmount: 8000, PointAmount: 888,
				SendPayDate:  Time{time.Date(2024, 5, 20, 12, 35, 1, 0, beijing)},
				BuyerLogonID: "tes***@example.com", BuyerUserID: "2088102146225135",
				StoreID: "S1", TerminalID: "POS-7", StoreName: "Tea House",
				FundBillList: []FundBill{{FundChannel: "ALIPAYACCOUNT", Amount: 8000}, {FundChannel: "POINT", Amount: 888, RealAmount: 89}},
			}
			if !reflect.DeepEqual(resp, want) {
				t.Errorf("response\n got %+v\nwant %+v", resp, want)
			}
			if !resp.TradeStatus.Paid() {
				t.Error("TRADE_SUCCESS is not paid")
			}
		})
	}
}

func TestTradeQueryWaiting(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, answer(t, "alipay.trade.query", `{"code":"10000","msg":"Success","trade_no":"2024052022001400001234567890",`+
		`"out_trade_no":"ORDER_1","trade_status":"WAIT_BUYER_PAY","total_amount":"88.88","buyer_pay_amount":"0.00",`+
		`"point_amount":"0.00","invoice_amount":"0.00","receipt_amount":"0.00","buyer_logon_id":"tes***@example.com"}`))
	resp, err := g.client().TradeQuery(context.Background(), TradeQueryRequest{OutTradeNo: "ORDER_1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.TradeStatus != TradeStatusWaitBuyerPay || resp.TradeStatus.Paid() || !resp.SendPayDate.IsZero() || resp.TotalAmount != 8888 || resp.BuyerPayAmount != 0 {
		t.Errorf("response %+v", resp)
	}
}

func TestTradeQueryAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		node  string
		check func(error) bool
	}{
		{"not found", `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在",` +
			`"buyer_pay_amount":"0.00","invoice_amount":"0.00","out_trade_no":"ORDER_1","point_amount":"0.00","receipt_amount":"0.00"}`,
			func(err error) bool {
				e, ok := errors.AsType[*Error](err)
				return ok && e.Signed && e.Method == "alipay.trade.query" && IsTradeNotExist(err) && !IsUnknown(err)
			}},
		{"system error", businessFailure(SubCodeSystemError), IsUnknown},
		{"another out_trade_no", strings.Replace(querySuccess, `"ORDER_1"`, `"ORDER_2"`, 1), func(err error) bool {
			return IsUnknown(err) && strings.Contains(err.Error(), `about out_trade_no "ORDER_2", not "ORDER_1"`)
		}},
		{"another trade_no", strings.Replace(querySuccess, "2024052022001400001234567890", "2024052022001400009999999999", 1), func(err error) bool {
			return IsUnknown(err) && strings.Contains(err.Error(), "about trade_no")
		}},
		{"bad time", strings.Replace(querySuccess, "2024-05-20 12:35:01", "2024-05-20T12:35:01Z", 1), IsUnknown},
		{"amount as float noise", strings.Replace(querySuccess, `"88.88"`, `88.880000001`, 1), IsUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, answer(t, "alipay.trade.query", tc.node))
			resp, err := g.client().TradeQuery(context.Background(), TradeQueryRequest{OutTradeNo: "ORDER_1", TradeNo: "2024052022001400001234567890"})
			if resp != nil || err == nil || !tc.check(err) {
				t.Fatalf("resp %+v, err %v", resp, err)
			}
		})
	}
}
