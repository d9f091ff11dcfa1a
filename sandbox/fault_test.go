package sandbox

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
)

// timeoutClient returns an SDK client of the test app whose calls give up
// after d.
func (e *env) timeoutClient(d time.Duration) *alipay.Client {
	e.t.Helper()
	c, err := alipay.New(alipay.Config{
		AppID: e.ts.AppID, PrivateKey: e.ts.AppPrivateKeyPEM, AlipayPublicKey: e.ts.AlipayPublicKeyPEM,
		Gateway: e.ts.GatewayURL, HTTPClient: e.ts.Server.Client(), Timeout: d,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// setFault sets f, failing the test on error.
func (e *env) setFault(f Fault) Fault {
	e.t.Helper()
	if f.AppID == "" {
		f.AppID = e.ts.AppID
	}
	got, err := e.ts.Sandbox.SetFault(f)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// injections returns the actions recorded for the fault of id.
func (e *env) injections(id string) []string {
	var out []string
	for _, in := range e.ts.Sandbox.FaultInjections() {
		if in.FaultID == id {
			out = append(out, in.Action)
		}
	}
	return out
}

// refundState returns what the sandbox holds about a trade's refunds.
func (e *env) refundState(no string) (alipay.Amount, int) {
	e.t.Helper()
	s, ok := e.ts.Sandbox.Trade(e.ts.AppID, no)
	if !ok {
		e.t.Fatalf("no trade %s", no)
	}
	return s.RefundFee, len(s.Refunds)
}

func TestFaultSystemError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("SE_1", 1000)
	e.ts.Events()
	f := e.setFault(Fault{Kind: FaultSystemError, Method: "alipay.trade.refund"})
	if f.ID == "" || f.Code != alipay.CodeBusinessFailed || f.Created.IsZero() {
		t.Fatalf("SetFault returned %+v", f)
	}
	req := alipay.TradeRefundRequest{OutTradeNo: "SE_1", RefundAmount: 100, OutRequestNo: "R1"}
	_, err := e.client.TradeRefund(ctx, req)
	var ae *alipay.Error
	if !errors.As(err, &ae) || ae.SubCode != alipay.SubCodeSystemError || ae.Code != alipay.CodeBusinessFailed || !ae.Signed || !alipay.IsUnknown(err) {
		t.Fatalf("refund under system_error: %v", err)
	}
	if fee, n := e.refundState("SE_1"); fee != 0 || n != 0 {
		t.Fatalf("the method ran: refund_fee %v, %d refunds", fee, n)
	}
	if evs := e.ts.Events(); len(evs) != 0 {
		t.Fatalf("events under system_error: %+v", evs)
	}
	// Other methods are not affected.
	if _, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "SE_1"}); err != nil {
		t.Fatalf("query: %v", err)
	}
	if got := e.injections(f.ID); len(got) != 1 || !strings.Contains(got[0], "ACQ.SYSTEM_ERROR; the method did not run") {
		t.Fatalf("injections %q", got)
	}

	// The 20000 form.
	e.ts.Sandbox.ClearFaults()
	e.setFault(Fault{Kind: FaultSystemError, Code: alipay.CodeUnknownError})
	_, err = e.client.TradeRefund(ctx, req)
	if !errors.As(err, &ae) || ae.Code != alipay.CodeUnknownError || ae.SubCode != "isp.unknow-error" || !alipay.IsUnknown(err) {
		t.Fatalf("refund under system_error 20000: %v", err)
	}
	if fee, n := e.refundState("SE_1"); fee != 0 || n != 0 {
		t.Fatalf("the method ran: refund_fee %v, %d refunds", fee, n)
	}
	// Cleared, the same refund goes through once.
	if n := e.ts.Sandbox.ClearFaults(); n != 1 {
		t.Fatalf("ClearFaults removed %d", n)
	}
	if r, err := e.client.TradeRefund(ctx, req); err != nil || !r.MoneyMoved() {
		t.Fatalf("after clearing: %v %+v", err, r)
	}
}

// hanging reports whether some goroutine is held by a fault. The tests
// that call it are not parallel, so that no other test's hang is seen.
func hanging() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "zhifu/sandbox.hold(")
}

func TestFaultHang(t *testing.T) {
	e := newEnv(t)
	e.paidTrade("HG_1", 1000)
	f := e.setFault(Fault{Kind: FaultHang, Method: "alipay.trade.refund", Delay: time.Minute})
	client := e.timeoutClient(300 * time.Millisecond)
	start := time.Now()
	_, err := client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "HG_1", RefundAmount: 100, OutRequestNo: "R1"})
	if !alipay.IsUnknown(err) || !errors.Is(err, alipay.ErrOutcomeUnknown) {
		t.Fatalf("refund under hang: %v", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("the client waited %v", time.Since(start))
	}
	// Close waits for every handler: the hang must end with the client.
	e.ts.Server.Close()
	if hanging() {
		t.Fatal("a goroutine is still held after the server closed")
	}
	if got := e.injections(f.ID); len(got) != 1 || !strings.Contains(got[0], "until the client gave up; the method did not run") {
		t.Fatalf("injections %q", got)
	}
	if fee, n := e.refundState("HG_1"); fee != 0 || n != 0 {
		t.Fatalf("the method ran: refund_fee %v, %d refunds", fee, n)
	}
}

func TestFaultHangThenAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("HG_2", 1000)
	// A hang shorter than the client's timeout is a slow gateway: the
	// method runs and answers.
	f := e.setFault(Fault{Kind: FaultHang, Delay: 20 * time.Millisecond, Count: 1})
	r, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "HG_2", RefundAmount: 100, OutRequestNo: "R1"})
	if err != nil || !r.MoneyMoved() {
		t.Fatalf("slow refund: %v %+v", err, r)
	}
	if got := e.injections(f.ID); len(got) != 1 || !strings.Contains(got[0], "then ran the method") {
		t.Fatalf("injections %q", got)
	}
	if fs := e.ts.Sandbox.Faults(); len(fs) != 0 {
		t.Fatalf("a used-up fault stays: %+v", fs)
	}
}

func TestFaultLoseAnswerRefund(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("LA_1", 1000)
	e.ts.Events()
	f := e.setFault(Fault{Kind: FaultLoseAnswer, Method: "alipay.trade.refund", Count: 1})
	req := alipay.TradeRefundRequest{OutTradeNo: "LA_1", RefundAmount: 500, OutRequestNo: "R1"}
	_, err := e.client.TradeRefund(ctx, req)
	if !alipay.IsUnknown(err) || !errors.Is(err, alipay.ErrOutcomeUnknown) {
		t.Fatalf("refund with its answer lost: %v", err)
	}
	// The money moved all the same.
	if fee, n := e.refundState("LA_1"); fee != 500 || n != 1 {
		t.Fatalf("after the lost answer: refund_fee %v, %d refunds", fee, n)
	}
	if evs := e.ts.Events(); len(evs) != 1 || evs[0].Kind != EventRefunded {
		t.Fatalf("events %+v", evs)
	}
	q, err := e.client.TradeFastpayRefundQuery(ctx, alipay.TradeFastpayRefundQueryRequest{OutTradeNo: "LA_1", OutRequestNo: "R1"})
	if err != nil || q.RefundStatus != alipay.RefundStatusSuccess || q.RefundAmount != 500 {
		t.Fatalf("refund query: %v %+v", err, q)
	}
	// The merchant resends the same refund: nothing moves twice.
	r, err := e.client.TradeRefund(ctx, req)
	if err != nil || r.MoneyMoved() || r.FundChange != "N" || r.RefundFee != 500 {
		t.Fatalf("resend: %v %+v", err, r)
	}
	if fee, n := e.refundState("LA_1"); fee != 500 || n != 1 {
		t.Fatalf("after the resend: refund_fee %v, %d refunds", fee, n)
	}
	if got := e.injections(f.ID); len(got) != 1 || !strings.Contains(got[0], "ran the method (answered 10000), then dropped the connection") {
		t.Fatalf("injections %q", got)
	}
}

func TestFaultLoseAnswerClose(t *testing.T) {
	e := newEnv(t)
	create := func(no string) {
		if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: no, TotalAmount: 100, Subject: "x", BuyerID: "2088102177846880"}); err != nil {
			t.Fatal(err)
		}
	}
	create("LC_1")
	create("LC_2")
	e.setFault(Fault{Kind: FaultLoseAnswer, Method: "alipay.trade.close", OutTradeNo: "LC_1"})
	if _, err := e.client.TradeClose(ctx, alipay.TradeCloseRequest{OutTradeNo: "LC_1"}); !alipay.IsUnknown(err) {
		t.Fatalf("close with its answer lost: %v", err)
	}
	q, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "LC_1"})
	if err != nil || q.TradeStatus != alipay.TradeStatusClosed {
		t.Fatalf("query after the lost close: %v %+v", err, q)
	}
	// The fault is LC_1's: LC_2 closes normally.
	if _, err := e.client.TradeClose(ctx, alipay.TradeCloseRequest{OutTradeNo: "LC_2"}); err != nil {
		t.Fatalf("close of another trade: %v", err)
	}

	// Held until the client gives up, then dropped: a timeout.
	create("LC_3")
	f := e.setFault(Fault{Kind: FaultLoseAnswer, Method: "alipay.trade.close", OutTradeNo: "LC_3", Delay: time.Minute})
	if _, err := e.timeoutClient(200*time.Millisecond).TradeClose(ctx, alipay.TradeCloseRequest{OutTradeNo: "LC_3"}); !alipay.IsUnknown(err) {
		t.Fatalf("close held then lost: %v", err)
	}
	if s, _ := e.ts.Sandbox.Trade(e.ts.AppID, "LC_3"); s.Status != alipay.TradeStatusClosed {
		t.Fatalf("LC_3 is %s", s.Status)
	}
	e.ts.Server.Close()
	if hanging() {
		t.Fatal("a goroutine is still held after the server closed")
	}
	if got := e.injections(f.ID); len(got) != 1 || !strings.Contains(got[0], "until the client gave up, then dropped") {
		t.Fatalf("injections %q", got)
	}
}

func TestFaultFundChangeN(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("FC_1", 1000)
	f := e.setFault(Fault{Kind: FaultFundChangeN, Count: 1})
	if f.Method != "alipay.trade.refund" {
		t.Fatalf("fund_change_n method %q", f.Method)
	}
	// A failing refund does not use the fault up.
	if _, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "FC_1", RefundAmount: 5000, OutRequestNo: "R0"}); !errors.Is(err, alipay.SubCodeRefundAmountExceeded) {
		t.Fatalf("over-refund: %v", err)
	}
	r, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "FC_1", RefundAmount: 300, OutRequestNo: "R1"})
	if err != nil || r.MoneyMoved() || r.FundChange != "N" {
		t.Fatalf("refund under fund_change_n: %v %+v", err, r)
	}
	// Only the refund query tells the truth.
	q, err := e.client.TradeFastpayRefundQuery(ctx, alipay.TradeFastpayRefundQueryRequest{OutTradeNo: "FC_1", OutRequestNo: "R1"})
	if err != nil || q.RefundStatus != alipay.RefundStatusSuccess || q.RefundAmount != 300 {
		t.Fatalf("refund query: %v %+v", err, q)
	}
	if fee, n := e.refundState("FC_1"); fee != 300 || n != 1 {
		t.Fatalf("refund_fee %v, %d refunds", fee, n)
	}
	// Used up: the next refund answers Y.
	r, err = e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "FC_1", RefundAmount: 100, OutRequestNo: "R2"})
	if err != nil || !r.MoneyMoved() {
		t.Fatalf("second refund: %v %+v", err, r)
	}
	if got := e.injections(f.ID); len(got) != 1 {
		t.Fatalf("injections %q", got)
	}
}

func TestFaultPayAfterClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sb := e.ts.Sandbox
	if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "PC_1", TotalAmount: 100, Subject: "x", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.TradeClose(ctx, alipay.TradeCloseRequest{OutTradeNo: "PC_1"}); err != nil {
		t.Fatal(err)
	}
	if err := sb.Pay(e.ts.AppID, "PC_1"); !errors.Is(err, alipay.SubCodeTradeHasClose) {
		t.Fatalf("Pay of a closed trade without the fault: %v", err)
	}
	if _, err := sb.SetFault(Fault{AppID: e.ts.AppID, Kind: FaultPayAfterClose, Method: "alipay.trade.pay"}); err == nil {
		t.Fatal("pay_after_close took a method")
	}
	f := e.setFault(Fault{Kind: FaultPayAfterClose, OutTradeNo: "PC_1", Count: 1})
	e.ts.Events()
	if err := sb.Pay(e.ts.AppID, "PC_1"); err != nil {
		t.Fatalf("Pay of the closed trade under pay_after_close: %v", err)
	}
	q, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "PC_1"})
	if err != nil || q.TradeStatus != alipay.TradeStatusSuccess || q.SendPayDate.IsZero() {
		t.Fatalf("query after the late payment: %v %+v", err, q)
	}
	evs := e.ts.Events()
	if len(evs) != 1 || evs[0].Kind != EventPaid || evs[0].Trade.Status != alipay.TradeStatusSuccess ||
		evs[0].NotifyParams().Get("trade_status") != "TRADE_SUCCESS" || evs[0].NotifyParams().Has("gmt_close") {
		t.Fatalf("events %+v", evs)
	}
	if got := e.injections(f.ID); len(got) != 1 || !strings.Contains(got[0], "stale page") {
		t.Fatalf("injections %q", got)
	}
	// The merchant refunds it in full: closed again, and a fully refunded
	// trade is never paid again, fault or not.
	if _, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "PC_1", RefundAmount: 100, OutRequestNo: "R1"}); err != nil {
		t.Fatal(err)
	}
	e.setFault(Fault{Kind: FaultPayAfterClose})
	if err := sb.Pay(e.ts.AppID, "PC_1"); !errors.Is(err, alipay.SubCodeTradeHasClose) {
		t.Fatalf("Pay of a refunded trade: %v", err)
	}
}

func TestFaultPayAfterCloseOnStaleCashier(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, err := e.client.PagePayURL(alipay.TradePagePayRequest{OutTradeNo: "PC_2", TotalAmount: 1234, Subject: "x"})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := e.get(u)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("gateway %d: %s", resp.StatusCode, body)
	}
	cashier := resp.Header.Get("Location")
	if resp, body := e.get(cashier); resp.StatusCode != http.StatusOK {
		t.Fatalf("cashier %d: %s", resp.StatusCode, body)
	}
	// The merchant closes the order while the buyer looks at the page.
	if _, err := e.client.TradeClose(ctx, alipay.TradeCloseRequest{OutTradeNo: "PC_2"}); err != nil {
		t.Fatal(err)
	}
	if _, body := e.postForm(cashier+"/pay", nil); !strings.Contains(body, "ACQ.TRADE_HAS_CLOSE") {
		t.Fatalf("stale page without the fault: %s", body)
	}
	e.setFault(Fault{Kind: FaultPayAfterClose})
	if _, body := e.postForm(cashier+"/pay", nil); !strings.Contains(body, "TRADE_SUCCESS") {
		t.Fatalf("stale page under pay_after_close: %s", body)
	}
	if s, _ := e.ts.Sandbox.Trade(e.ts.AppID, "PC_2"); s.Status != alipay.TradeStatusSuccess || !s.GmtClose.IsZero() {
		t.Fatalf("trade %+v", s)
	}
}

func TestFaultCountAndScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("SC_A", 100)
	e.paidTrade("SC_B", 100)
	sb := e.ts.Sandbox
	query := func(no string) error {
		_, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: no})
		return err
	}
	f := e.setFault(Fault{Kind: FaultSystemError, OutTradeNo: "SC_A", Count: 2})
	if err := query("SC_B"); err != nil {
		t.Fatalf("SC_B under SC_A's fault: %v", err)
	}
	if err := query("SC_A"); !errors.Is(err, alipay.SubCodeSystemError) {
		t.Fatalf("first call: %v", err)
	}
	if fs := sb.Faults(); len(fs) != 1 || fs[0].ID != f.ID || fs[0].Remaining != 1 || fs[0].Count != 2 {
		t.Fatalf("after one call: %+v", fs)
	}
	// A call naming the trade by trade_no is the trade's call too.
	s, _ := sb.Trade(e.ts.AppID, "SC_A")
	if _, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{TradeNo: s.TradeNo}); !errors.Is(err, alipay.SubCodeSystemError) {
		t.Fatalf("second call, by trade_no: %v", err)
	}
	if err := query("SC_A"); err != nil {
		t.Fatalf("third call, the fault used up: %v", err)
	}
	if fs := sb.Faults(); len(fs) != 0 {
		t.Fatalf("used-up fault stays: %+v", fs)
	}

	// The most specific fault wins: the trade's over the app's.
	e.setFault(Fault{Kind: FaultSystemError, Code: alipay.CodeUnknownError})
	e.setFault(Fault{Kind: FaultSystemError, OutTradeNo: "SC_B", Method: "alipay.trade.query"})
	var ae *alipay.Error
	if err := query("SC_B"); !errors.As(err, &ae) || ae.Code != alipay.CodeBusinessFailed {
		t.Fatalf("SC_B: %v", err)
	}
	if err := query("SC_A"); !errors.As(err, &ae) || ae.Code != alipay.CodeUnknownError {
		t.Fatalf("SC_A: %v", err)
	}
	// An unlimited fault stays.
	if fs := sb.Faults(); len(fs) != 2 || fs[0].Remaining != 0 {
		t.Fatalf("faults %+v", fs)
	}
	if n := sb.ClearFaults(sb.Faults()[1].ID, "nope"); n != 1 {
		t.Fatalf("ClearFaults(id) removed %d", n)
	}
}

func TestSetFaultRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sb := e.ts.Sandbox
	app := e.ts.AppID
	for _, tc := range []struct {
		f     Fault
		field string
	}{
		{Fault{Kind: FaultSystemError}, "app_id"},
		{Fault{AppID: app, Kind: "explode"}, "kind"},
		{Fault{AppID: app, Kind: FaultSystemError, Method: "alipay.trade.nope"}, "method"},
		{Fault{AppID: app, Kind: FaultHang, Method: "alipay.trade.page.pay"}, "method"},
		{Fault{AppID: app, Kind: FaultFundChangeN, Method: "alipay.trade.query"}, "method"},
		{Fault{AppID: app, Kind: FaultSystemError, Count: -1}, "count"},
		{Fault{AppID: app, Kind: FaultSystemError, Delay: time.Second}, "delay"},
		{Fault{AppID: app, Kind: FaultHang, Delay: -time.Second}, "delay"},
		{Fault{AppID: app, Kind: FaultHang, Delay: 2 * MaxFaultDelay}, "delay"},
		{Fault{AppID: app, Kind: FaultSystemError, Code: "40002"}, "code"},
		{Fault{AppID: app, Kind: FaultHang, Code: "20000"}, "code"},
		{Fault{AppID: app, Kind: FaultSystemError, OutTradeNo: strings.Repeat("x", 65)}, "out_trade_no"},
	} {
		_, err := sb.SetFault(tc.f)
		var fe *FaultFieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("SetFault(%+v) = %v, want an error about %s", tc.f, err, tc.field)
		}
	}
	if _, err := sb.SetFault(Fault{AppID: "nope", Kind: FaultSystemError}); !errors.Is(err, errNoApp) {
		t.Errorf("unknown app: %v", err)
	}
	if fs := sb.Faults(); len(fs) != 0 {
		t.Errorf("refused faults were set: %+v", fs)
	}
}
