package payment_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zhifu/payment"
	"zhifu/sandbox"
)

func TestReturn(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{"PendingQueried", testReturnPendingQueried},
		{"Forged", testReturnForged},
		{"QueryBounded", testReturnQueryBounded},
	})
}

// payAtCashier pays p on the sandbox's cashier as the buyer's browser
// does and returns the return URL the browser is sent to.
func payAtCashier(t *testing.T, e *env, p *payment.Payment) string {
	t.Helper()
	cashier := e.open(p)
	resp, err := e.http.Post(cashier+"/pay", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), e.srv.URL+"/return?") {
		t.Fatalf("the cashier answered %s, location %v: want our return URL", resp.Status, loc)
	}
	return loc.String()
}

// getReturn follows the return URL as the browser does, asking for JSON.
func getReturn(t *testing.T, e *env, u string, accept string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// testReturnPendingQueried: the notify is lost; the buyer comes back, the
// return handler asks trade.query and shows the order paid.
func testReturnPendingQueried(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelPage, 100)
	e.notifyFault(p.Order, sandbox.NotifyFault{DropFirst: 8})
	ret := payAtCashier(t, e, p)
	e.deliver()
	e.wantStatus(p.Order.ID, payment.StatusPending)
	status, body := getReturn(t, e, ret, "application/json")
	var view struct {
		Status payment.Status `json:"status"`
		Paid   bool           `json:"paid"`
	}
	if err := json.Unmarshal([]byte(body), &view); err != nil || status != http.StatusOK || view.Status != payment.StatusPaid || !view.Paid {
		t.Fatalf("return: %d %s (%v)", status, body, err)
	}
	o := e.wantStatus(p.Order.ID, payment.StatusPaid)
	if e.count(o.ID, payment.EventReturnReceived, "") != 1 || e.count(o.ID, payment.EventQuery, payment.EffectTransitioned) != 1 {
		t.Errorf("events:\n%s", e.dumpEvents(o.ID))
	}
	// Back again: the order is paid, nothing is asked.
	status, body = getReturn(t, e, ret, "text/html")
	if status != http.StatusOK || !strings.Contains(body, "Paid") {
		t.Errorf("second return: %d %s", status, body)
	}
	if e.count(o.ID, payment.EventQuery, "") != 1 {
		t.Error("a paid order was queried again")
	}
}

// testReturnForged: a return whose signature does not verify is answered
// 400 with a clear page and changes nothing — the return alone never pays.
func testReturnForged(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelPage, 100)
	e.notifyFault(p.Order, sandbox.NotifyFault{DropFirst: 8})
	ret := payAtCashier(t, e, p)
	e.deliver()
	u, err := url.Parse(ret)
	if err != nil {
		t.Fatal(err)
	}
	tampered := u.Query()
	tampered.Set("total_amount", "0.01")
	unsigned := u.Query()
	unsigned.Del("sign")
	forged := url.Values{"out_trade_no": {p.Order.OutTradeNo}, "trade_status": {"TRADE_SUCCESS"}, "sign": {"AAAA"}}
	for _, q := range []url.Values{tampered, unsigned, forged} {
		status, body := getReturn(t, e, e.srv.URL+"/return?"+q.Encode(), "text/html")
		if status != http.StatusBadRequest || !strings.Contains(body, "could not be verified") {
			t.Errorf("forged return %v: %d %s", q, status, body)
		}
	}
	o := e.wantStatus(p.Order.ID, payment.StatusPending)
	if n := len(e.events(o.ID)); n != 1 {
		t.Errorf("events of a forged return:\n%s", e.dumpEvents(o.ID))
	}
	if !e.logs.has("return refused", p.Order.OutTradeNo) {
		t.Error("the forged return is not logged")
	}
}

// testReturnQueryBounded: a trade.query that hangs is given up after
// QueryTimeout and the order shown as stored.
func testReturnQueryBounded(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{queryTimeout: 100 * time.Millisecond})
	p := e.create(payment.ChannelPage, 100)
	e.notifyFault(p.Order, sandbox.NotifyFault{DropFirst: 8})
	ret := payAtCashier(t, e, p)
	e.deliver()
	e.fault(sandbox.Fault{Kind: sandbox.FaultHang, Method: "alipay.trade.query", Count: 1, Delay: time.Minute})
	status, body := getReturn(t, e, ret, "application/json")
	if status != http.StatusOK || !strings.Contains(body, `"status":"pending"`) {
		t.Fatalf("return: %d %s", status, body)
	}
	if !e.logs.has("trade.query failed", p.Order.OutTradeNo) {
		t.Error("the failed query is not logged")
	}
}
