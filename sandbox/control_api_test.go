package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
)

// apiAnswer is a control API answer.
type apiAnswer struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

// errCode returns the error code of an error answer.
func (a apiAnswer) errCode() string {
	e, _ := a.json["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (a apiAnswer) errMessage() string {
	e, _ := a.json["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// apiCall sends a control API request to base and decodes the answer,
// which must always be JSON.
func apiCall(t *testing.T, client *http.Client, base, method, path, body string, header ...string) apiAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := apiAnswer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, b)
	}
	if err := json.Unmarshal(b, &a.json); err != nil {
		t.Fatalf("%s %s: not JSON: %v\n%s", method, path, err, b)
	}
	return a
}

func (e *env) api(method, path, body string, header ...string) apiAnswer {
	e.t.Helper()
	return apiCall(e.t, e.ts.Server.Client(), e.ts.Server.URL, method, path, body, header...)
}

// wantErr checks an error answer.
func wantErr(t *testing.T, what string, a apiAnswer, status int, code string) {
	t.Helper()
	if a.status != status || a.errCode() != code || a.errMessage() == "" {
		t.Errorf("%s: %d %s, want %d %s", what, a.status, a.body, status, code)
	}
}

// rfc3339Beijing matches the control API's times.
var rfc3339Beijing = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$`)

func TestControlAPITrades(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("API_1", 1234)
	if _, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "API_1", RefundAmount: 34, OutRequestNo: "R1", RefundReason: "broken"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "API_2", TotalAmount: 500, Subject: "y", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}

	a := e.api("GET", "/sandbox/api/apps", "")
	apps, _ := a.json["apps"].([]any)
	if a.status != 200 || len(apps) != 1 {
		t.Fatalf("apps: %d %s", a.status, a.body)
	}
	app := apps[0].(map[string]any)
	if app["app_id"] != TestAppID || app["sign_type"] != "RSA2" || app["cert_mode"] != false || !regexp.MustCompile(`^2088\d{12}$`).MatchString(app["seller_id"].(string)) {
		t.Errorf("app %v", app)
	}
	if strings.Contains(a.body, "KEY") || strings.Contains(a.body, "MII") {
		t.Errorf("apps shows key material: %s", a.body)
	}

	a = e.api("GET", "/sandbox/api/trades", "")
	trades, _ := a.json["trades"].([]any)
	if a.status != 200 || len(trades) != 2 {
		t.Fatalf("trades: %d %s", a.status, a.body)
	}
	a = e.api("GET", "/sandbox/api/trades?status=WAIT_BUYER_PAY&app_id="+TestAppID, "")
	trades, _ = a.json["trades"].([]any)
	if a.status != 200 || len(trades) != 1 || trades[0].(map[string]any)["out_trade_no"] != "API_2" {
		t.Fatalf("trades by status: %d %s", a.status, a.body)
	}
	wantErr(t, "bad status", e.api("GET", "/sandbox/api/trades?status=PAID", ""), 400, "invalid_field")
	wantErr(t, "unknown app", e.api("GET", "/sandbox/api/trades?app_id=nope", ""), 404, "app_not_found")

	a = e.api("GET", "/sandbox/api/trades/API_1", "")
	tr, _ := a.json["trade"].(map[string]any)
	if a.status != 200 || tr["total_amount"] != "12.34" || tr["refund_fee"] != "0.34" || tr["status"] != "TRADE_SUCCESS" ||
		!rfc3339Beijing.MatchString(tr["gmt_payment"].(string)) || tr["gmt_close"] != nil {
		t.Fatalf("trade: %d %s", a.status, a.body)
	}
	refunds, _ := tr["refunds"].([]any)
	if len(refunds) != 1 || refunds[0].(map[string]any)["amount"] != "0.34" || refunds[0].(map[string]any)["out_request_no"] != "R1" {
		t.Errorf("refunds %v", refunds)
	}
	wantErr(t, "unknown trade", e.api("GET", "/sandbox/api/trades/NOPE", ""), 404, "trade_not_found")
	wantErr(t, "unknown trade's app", e.api("GET", "/sandbox/api/trades/API_1?app_id=nope", ""), 404, "app_not_found")
}

func TestControlAPIChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sb := e.ts.Sandbox
	create := func(no string) {
		if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: no, TotalAmount: 500, Subject: "y", BuyerID: "2088102177846880"}); err != nil {
			t.Fatal(err)
		}
	}
	status := func(no string) alipay.TradeStatus {
		s, _ := sb.Trade(TestAppID, no)
		return s.Status
	}
	create("CH_1")
	e.ts.Events()

	// Bad input of every kind changes nothing.
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
		header     []string
	}{
		{"bad JSON", `{"app_id":`, 400, "bad_json", nil},
		{"not an object", `[1]`, 400, "bad_json", nil},
		{"two values", `{} {}`, 400, "bad_json", nil},
		{"unknown field", `{"app_id":"` + TestAppID + `","amount":"1.00"}`, 400, "unknown_field", nil},
		{"wrong type", `{"app_id":5}`, 400, "invalid_field", nil},
		{"unknown app", `{"app_id":"nope"}`, 404, "app_not_found", nil},
		{"not JSON", `app_id=x`, 415, "unsupported_media_type", []string{"Content-Type", "application/x-www-form-urlencoded"}},
		{"too large", `{"app_id":"` + strings.Repeat("x", maxControlBody) + `"}`, 413, "body_too_large", nil},
	} {
		a := e.api("POST", "/sandbox/api/trades/CH_1/pay", tc.body, tc.header...)
		wantErr(t, tc.name, a, tc.status, tc.code)
		if tc.code == "invalid_field" && !strings.Contains(a.errMessage(), "app_id") {
			t.Errorf("%s: the message does not name the field: %s", tc.name, a.errMessage())
		}
		if tc.code == "unknown_field" && !strings.Contains(a.errMessage(), "amount") {
			t.Errorf("%s: the message does not name the field: %s", tc.name, a.errMessage())
		}
	}
	if st := status("CH_1"); st != alipay.TradeStatusWaitBuyerPay {
		t.Fatalf("bad requests changed the trade: %s", st)
	}
	if evs := e.ts.Events(); len(evs) != 0 {
		t.Fatalf("bad requests made events: %+v", evs)
	}
	wantErr(t, "unknown trade", e.api("POST", "/sandbox/api/trades/NOPE/pay", ""), 404, "trade_not_found")
	wantErr(t, "GET on pay", e.api("GET", "/sandbox/api/trades/CH_1/pay", ""), 405, "method_not_allowed")
	if a := e.api("PUT", "/sandbox/api/trades/CH_1/pay", ""); a.status != 405 || !strings.Contains(a.header.Get("Allow"), "POST") {
		t.Errorf("PUT on pay: %d %v %s", a.status, a.header, a.body)
	}
	wantErr(t, "no route", e.api("GET", "/sandbox/api/nope", ""), 404, "not_found")

	// Pay, with and without a body.
	a := e.api("POST", "/sandbox/api/trades/CH_1/pay", "")
	if tr, _ := a.json["trade"].(map[string]any); a.status != 200 || tr["status"] != "TRADE_SUCCESS" {
		t.Fatalf("pay: %d %s", a.status, a.body)
	}
	if evs := e.ts.Events(); len(evs) != 1 || evs[0].Kind != EventPaid {
		t.Fatalf("events %+v", evs)
	}
	a = e.api("POST", "/sandbox/api/trades/CH_1/pay", `{"app_id":"`+TestAppID+`"}`)
	wantErr(t, "pay again", a, 409, "trade_paid")
	if a.json["error"].(map[string]any)["alipay_sub_code"] != "ACQ.TRADE_HAS_SUCCESS" {
		t.Errorf("pay again: %s", a.body)
	}
	wantErr(t, "close a paid trade", e.api("POST", "/sandbox/api/trades/CH_1/close", ""), 409, "trade_status_conflict")
	a = e.api("POST", "/sandbox/api/trades/CH_1/finish", "{}")
	if tr, _ := a.json["trade"].(map[string]any); a.status != 200 || tr["status"] != "TRADE_FINISHED" {
		t.Fatalf("finish: %d %s", a.status, a.body)
	}
	create("CH_2")
	a = e.api("POST", "/sandbox/api/trades/CH_2/close", "")
	if tr, _ := a.json["trade"].(map[string]any); a.status != 200 || tr["status"] != "TRADE_CLOSED" || !rfc3339Beijing.MatchString(tr["gmt_close"].(string)) {
		t.Fatalf("close: %d %s", a.status, a.body)
	}
	wantErr(t, "pay a closed trade", e.api("POST", "/sandbox/api/trades/CH_2/pay", ""), 409, "trade_closed")
	wantErr(t, "finish an unpaid trade", e.api("POST", "/sandbox/api/trades/CH_2/finish", ""), 409, "trade_status_conflict")
	if st := status("CH_2"); st != alipay.TradeStatusClosed {
		t.Fatalf("refused requests changed the trade: %s", st)
	}

	// A page payment the buyer never opened is opened and paid.
	u, err := e.client.PagePayURL(alipay.TradePagePayRequest{OutTradeNo: "CH_3", TotalAmount: 100, Subject: "z"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.get(u); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("page pay %d", resp.StatusCode)
	}
	if a := e.api("POST", "/sandbox/api/trades/CH_3/pay", ""); a.status != 200 {
		t.Fatalf("pay an unopened checkout: %d %s", a.status, a.body)
	}

	// With two apps, app_id is needed.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.AddApp(App{AppID: "2021000000000002", AppPublicKey: &key.PublicKey}); err != nil {
		t.Fatal(err)
	}
	a = e.api("POST", "/sandbox/api/trades/CH_1/pay", "")
	wantErr(t, "two apps", a, 400, "missing_field")
	if !strings.Contains(a.errMessage(), "app_id") {
		t.Errorf("two apps: %s", a.body)
	}
}

func TestControlAPIClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := e.ts.Sandbox.Now()
	a := e.api("POST", "/sandbox/api/clock/advance", `{"duration":"15m"}`)
	now, _ := a.json["now"].(string)
	if a.status != 200 || !rfc3339Beijing.MatchString(now) {
		t.Fatalf("advance: %d %s", a.status, a.body)
	}
	if d := e.ts.Sandbox.Now().Sub(before); d < 15*time.Minute || d > 16*time.Minute {
		t.Fatalf("the clock moved %v", d)
	}
	for _, body := range []string{`{}`, `{"duration":"15"}`, `{"duration":"-1h"}`, `{"duration":"0s"}`, `{"duration":900}`, `{"duration":"1000000h"}`} {
		a := e.api("POST", "/sandbox/api/clock/advance", body)
		if a.status != 400 || !strings.Contains(a.errMessage(), "duration") {
			t.Errorf("advance %s: %d %s", body, a.status, a.body)
		}
	}
	if d := e.ts.Sandbox.Now().Sub(before); d > 16*time.Minute {
		t.Fatalf("refused advances moved the clock: %v", d)
	}
	if a := e.api("GET", "/sandbox/api/clock", ""); a.status != 200 || !rfc3339Beijing.MatchString(a.json["now"].(string)) {
		t.Errorf("clock: %d %s", a.status, a.body)
	}
	wantErr(t, "GET advance", e.api("GET", "/sandbox/api/clock/advance", ""), 405, "method_not_allowed")
}

func TestControlAPIFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.paidTrade("AF_1", 1000)
	a := e.api("POST", "/sandbox/api/faults", `{"kind":"system_error","method":"alipay.trade.refund","count":1}`)
	f, _ := a.json["fault"].(map[string]any)
	id, _ := f["id"].(string)
	if a.status != 201 || id == "" || f["app_id"] != TestAppID || f["remaining"] != 1.0 || a.header.Get("Location") != "/sandbox/api/faults/"+id {
		t.Fatalf("create: %d %v %s", a.status, a.header, a.body)
	}
	if a := e.api("GET", "/sandbox/api/faults", ""); a.status != 200 || len(a.json["faults"].([]any)) != 1 {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	if a := e.api("GET", "/sandbox/api/faults/"+id, ""); a.status != 200 || a.json["fault"].(map[string]any)["kind"] != "system_error" {
		t.Fatalf("get: %d %s", a.status, a.body)
	}
	// It acts.
	_, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "AF_1", RefundAmount: 1, OutRequestNo: "R1"})
	if !errors.Is(err, alipay.SubCodeSystemError) {
		t.Fatalf("refund: %v", err)
	}
	a = e.api("GET", "/sandbox/api/faults/injections", "")
	ins, _ := a.json["injections"].([]any)
	if a.status != 200 || len(ins) != 1 || ins[0].(map[string]any)["fault_id"] != id || ins[0].(map[string]any)["out_trade_no"] != "AF_1" ||
		!rfc3339Beijing.MatchString(ins[0].(map[string]any)["time"].(string)) {
		t.Fatalf("injections: %d %s", a.status, a.body)
	}
	// Used up.
	wantErr(t, "get used-up", e.api("GET", "/sandbox/api/faults/"+id, ""), 404, "fault_not_found")
	wantErr(t, "delete used-up", e.api("DELETE", "/sandbox/api/faults/"+id, ""), 404, "fault_not_found")

	// Refusals change nothing.
	for _, tc := range []struct {
		body, code, field string
		status            int
	}{
		{`{}`, "missing_field", "kind", 400},
		{`{"kind":"explode"}`, "invalid_field", "kind", 400},
		{`{"kind":"hang","delay":"soon"}`, "invalid_field", "delay", 400},
		{`{"kind":"hang","delay":"3h"}`, "invalid_field", "delay", 400},
		{`{"kind":"system_error","count":"2"}`, "invalid_field", "count", 400},
		{`{"kind":"system_error","count":-2}`, "invalid_field", "count", 400},
		{`{"kind":"system_error","method":"alipay.trade.page.pay"}`, "invalid_field", "method", 400},
		{`{"kind":"system_error","code":"40002"}`, "invalid_field", "code", 400},
		{`{"kind":"system_error","app_id":"nope"}`, "app_not_found", "nope", 404},
		{`{"kind":"system_error","when":"now"}`, "unknown_field", "when", 400},
	} {
		a := e.api("POST", "/sandbox/api/faults", tc.body)
		wantErr(t, tc.body, a, tc.status, tc.code)
		if !strings.Contains(a.errMessage(), tc.field) {
			t.Errorf("%s: the message does not name %s: %s", tc.body, tc.field, a.errMessage())
		}
	}
	if fs := e.ts.Sandbox.Faults(); len(fs) != 0 {
		t.Fatalf("refused faults were set: %+v", fs)
	}

	a = e.api("POST", "/sandbox/api/faults", `{"kind":"hang","delay":"30s","out_trade_no":"AF_1"}`)
	if f := a.json["fault"].(map[string]any); a.status != 201 || f["delay"] != "30s" || f["out_trade_no"] != "AF_1" {
		t.Fatalf("create hang: %d %s", a.status, a.body)
	}
	e.api("POST", "/sandbox/api/faults", `{"kind":"fund_change_n"}`)
	id = e.ts.Sandbox.Faults()[0].ID
	if a := e.api("DELETE", "/sandbox/api/faults/"+id, ""); a.status != 200 || len(e.ts.Sandbox.Faults()) != 1 {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if a := e.api("DELETE", "/sandbox/api/faults", ""); a.status != 200 || a.json["cleared"] != 1.0 || len(e.ts.Sandbox.Faults()) != 0 {
		t.Fatalf("delete all: %d %s", a.status, a.body)
	}
	wantErr(t, "PUT faults", e.api("PUT", "/sandbox/api/faults", "{}"), 405, "method_not_allowed")
}

func TestControlAPIGuards(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "GD_1", TotalAmount: 500, Subject: "y", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}
	// A browser on another site, or a page that rebound its name to the
	// sandbox's address, cannot change anything.
	wantErr(t, "cross-origin", e.api("POST", "/sandbox/api/trades/GD_1/pay", "", "Origin", "https://evil.example"), 403, "cross_origin")
	wantErr(t, "cross-site fetch", e.api("POST", "/sandbox/api/trades/GD_1/pay", "", "Sec-Fetch-Site", "cross-site"), 403, "cross_origin")
	wantErr(t, "rebound host", e.api("POST", "/sandbox/api/trades/GD_1/pay", "", "Host", "evil.example:80"), 403, "host_not_allowed")
	wantErr(t, "rebound host GET", e.api("GET", "/sandbox/api/trades", "", "Host", "evil.example"), 403, "host_not_allowed")
	if s, _ := e.ts.Sandbox.Trade(TestAppID, "GD_1"); s.Status != alipay.TradeStatusWaitBuyerPay {
		t.Fatalf("a refused request paid the trade: %s", s.Status)
	}
	// Same-origin browser requests and localhost go through.
	if a := e.api("GET", "/sandbox/api/apps", "", "Host", "localhost:1234", "Sec-Fetch-Site", "same-origin"); a.status != 200 {
		t.Fatalf("localhost: %d %s", a.status, a.body)
	}
}

func TestControlAPIToken(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := New(Config{AlipayPrivateKey: key, ControlToken: "s3cret-token"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Stop() })
	if err := sb.AddApp(App{AppID: TestAppID, AppPublicKey: &key.PublicKey}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	call := func(header ...string) apiAnswer {
		return apiCall(t, srv.Client(), srv.URL, "DELETE", "/sandbox/api/faults", "", header...)
	}
	sb.SetFault(Fault{AppID: TestAppID, Kind: FaultSystemError})
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "s3cret-token"}, {"Authorization", "Bearer s3cret-token2"}, {"Authorization", "Basic s3cret-token"}} {
		a := call(h...)
		wantErr(t, "token "+strings.Join(h, " "), a, 401, "unauthorized")
		if a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
	if len(sb.Faults()) != 1 {
		t.Fatal("an unauthorized request cleared the faults")
	}
	// With the token, any host will do.
	if a := call("Authorization", "Bearer s3cret-token", "Host", "sandbox.internal:8090"); a.status != 200 || len(sb.Faults()) != 0 {
		t.Fatalf("with the token: %d %s", a.status, a.body)
	}
}
