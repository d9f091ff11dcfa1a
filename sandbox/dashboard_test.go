package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"zhifu/alipay"
)

// page fetches a dashboard page with the given extra headers.
func (e *env) page(method, path string, form url.Values, header ...string) (*http.Response, string) {
	e.t.Helper()
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequest(method, e.ts.Server.URL+path, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest(method, e.ts.Server.URL+path, nil)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	return e.do(req)
}

var csrfInput = regexp.MustCompile(`<input type="hidden" name="csrf" value="([0-9a-f]+)">`)

// csrf returns the form token of a page.
func csrf(t *testing.T, body string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in %s", body)
	}
	return m[1]
}

// pemBase64 returns the base64 body of a PEM text, on one line.
func pemBase64(pemText string) string {
	var b strings.Builder
	for _, line := range strings.Split(pemText, "\n") {
		if !strings.HasPrefix(line, "-----") {
			b.WriteString(strings.TrimSpace(line))
		}
	}
	return b.String()
}

// noSecrets fails the test if body shows key material: a PEM private key,
// or any 24-character piece of the given base64 secrets.
func noSecrets(t *testing.T, what, body string, secrets ...string) {
	t.Helper()
	if strings.Contains(body, "PRIVATE KEY") {
		t.Errorf("%s shows a PEM private key", what)
	}
	for _, s := range secrets {
		for i := 0; i+24 <= len(s); i += 24 {
			if strings.Contains(body, s[i:i+24]) {
				t.Errorf("%s shows key material %q", what, s[i:i+24])
				break
			}
		}
	}
}

func TestDashboardPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sb := e.ts.Sandbox
	// A second app with an AES key: that key is a secret too.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	aesKey := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	if err := sb.AddApp(App{AppID: "2021000000000002", AppPublicKey: &key.PublicKey, EncryptKey: aesKey}); err != nil {
		t.Fatal(err)
	}
	alipayPEM, err := alipay.MarshalPrivateKeyPEM(sb.cfg.AlipayPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{pemBase64(e.ts.AppPrivateKeyPEM), pemBase64(string(alipayPEM)), aesKey}

	e.paidTrade("DB_1", 1234)
	if _, err := e.client.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "DB_1", RefundAmount: 200, OutRequestNo: "R<1>", RefundReason: "<script>alert(1)</script>"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "DB_2", TotalAmount: 99, Subject: "茶 <b>tea</b>", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}
	e.setFault(Fault{Kind: FaultSystemError, Method: "alipay.trade.query", Count: 1})
	e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "DB_1"})
	e.setFault(Fault{Kind: FaultHang, OutTradeNo: "DB_2", Delay: 30_000_000_000})

	get := func(path string, want ...string) string {
		t.Helper()
		resp, body := e.page("GET", path, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in\n%s", path, w, body)
			}
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "<b>tea") {
			t.Errorf("GET %s: unescaped text", path)
		}
		noSecrets(t, path, body, secrets...)
		return body
	}
	s1, _ := sb.Trade(TestAppID, "DB_1")
	seller := s1.SellerID
	get("/sandbox/", TestAppID, "2021000000000002", seller, "RSA2", "公钥 public key", "开 on", "Advance")
	body := get("/sandbox/trades", "DB_1", "DB_2", "¥12.34", "¥0.99", s1.TradeNo, "TRADE_SUCCESS", "WAIT_BUYER_PAY", "茶 &lt;b&gt;tea&lt;/b&gt;")
	if strings.Index(body, "DB_2") > strings.Index(body, "DB_1") {
		t.Errorf("trades are not newest first")
	}
	body = get("/sandbox/trades?status=WAIT_BUYER_PAY", "DB_2")
	if strings.Contains(body, ">DB_1<") {
		t.Errorf("status filter shows DB_1")
	}
	body = get("/sandbox/trades/"+TestAppID+"/DB_1", "R&lt;1&gt;", "&lt;script&gt;", `id="notify-attempts"`)
	for id, want := range map[string]string{"amount": "¥12.34", "refund-fee": "¥2.00", "trade-no": s1.TradeNo, "trade-status": "TRADE_SUCCESS", "out-trade-no": "DB_1"} {
		m := regexp.MustCompile(`id="` + id + `"[^>]*>([^<]*)<`).FindStringSubmatch(body)
		if m == nil || html.UnescapeString(m[1]) != want {
			t.Errorf("trade page %s = %v, want %q", id, m, want)
		}
	}
	get("/sandbox/faults", "hang", "DB_2", "30s", "system_error", "ACQ.SYSTEM_ERROR; the method did not run", "alipay.trade.refund")
	if resp, body := e.page("GET", "/sandbox/static/dashboard.css", nil); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(body, "font-family") {
		t.Errorf("CSS: %d %v", resp.StatusCode, resp.Header)
	}

	if resp, body := e.page("GET", "/sandbox/trades/"+TestAppID+"/NOPE", nil); resp.StatusCode != 404 || !strings.Contains(body, "NOPE") {
		t.Errorf("unknown trade: %d", resp.StatusCode)
	}
	if resp, _ := e.page("GET", "/sandbox/nope", nil); resp.StatusCode != 404 {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
	if resp, _ := e.page("GET", "/sandbox/trades?status=PAID", nil); resp.StatusCode != 400 {
		t.Errorf("bad status filter: %d", resp.StatusCode)
	}
	if resp, _ := e.page("GET", "/sandbox", nil); resp.StatusCode != http.StatusMovedPermanently {
		t.Errorf("/sandbox: %d", resp.StatusCode)
	}
	if resp, _ := e.page("GET", "/sandbox/", nil, "Host", "evil.example"); resp.StatusCode != 403 {
		t.Errorf("rebound host: %d", resp.StatusCode)
	}
}

func TestDashboardActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sb := e.ts.Sandbox
	if _, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "DA_1", TotalAmount: 500, Subject: "y", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}
	tradePath := "/sandbox/trades/" + TestAppID + "/DA_1"
	_, body := e.page("GET", tradePath, nil)
	token := csrf(t, body)
	status := func() alipay.TradeStatus {
		s, _ := sb.Trade(TestAppID, "DA_1")
		return s.Status
	}

	// Forged posts are refused and change nothing.
	for name, tc := range map[string]struct {
		form   url.Values
		header []string
	}{
		"no token":      {url.Values{}, nil},
		"wrong token":   {url.Values{"csrf": {strings.Repeat("0", len(token))}}, nil},
		"other origin":  {url.Values{"csrf": {token}}, []string{"Origin", "https://evil.example"}},
		"cross-site":    {url.Values{"csrf": {token}}, []string{"Sec-Fetch-Site", "cross-site"}},
		"rebound host":  {url.Values{"csrf": {token}}, []string{"Host", "evil.example"}},
		"origin + host": {url.Values{"csrf": {token}}, []string{"Origin", "http://evil.example", "Host", "evil.example"}},
	} {
		resp, _ := e.page("POST", tradePath+"/pay", tc.form, tc.header...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	if st := status(); st != alipay.TradeStatusWaitBuyerPay {
		t.Fatalf("a forged post changed the trade: %s", st)
	}

	// The real form, from the same origin.
	resp, body := e.page("POST", tradePath+"/pay", url.Values{"csrf": {token}}, "Origin", e.ts.Server.URL, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tradePath+"?done=pay" {
		t.Fatalf("pay: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if st := status(); st != alipay.TradeStatusSuccess {
		t.Fatalf("after pay: %s", st)
	}
	if _, body := e.page("GET", tradePath+"?done=pay", nil); !strings.Contains(body, `id="done"`) {
		t.Errorf("no done message")
	}
	resp, body = e.page("POST", tradePath+"/close", url.Values{"csrf": {token}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `id="error"`) {
		t.Errorf("close a paid trade: %d", resp.StatusCode)
	}
	if resp, _ := e.page("POST", tradePath+"/finish", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther || status() != alipay.TradeStatusFinished {
		t.Errorf("finish: %d %s", resp.StatusCode, status())
	}
	if resp, _ := e.page("POST", tradePath+"/explode", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown action: %d", resp.StatusCode)
	}

	// The clock.
	before := sb.Now()
	if resp, _ := e.page("POST", "/sandbox/clock/advance", url.Values{"csrf": {token}, "duration": {"2h"}}); resp.StatusCode != http.StatusSeeOther || sb.Now().Sub(before) < 2*3600e9 {
		t.Errorf("advance: %d", resp.StatusCode)
	}
	if resp, _ := e.page("POST", "/sandbox/clock/advance", url.Values{"csrf": {token}, "duration": {"soon"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad advance: %d", resp.StatusCode)
	}

	// Faults.
	resp, body = e.page("POST", "/sandbox/faults", url.Values{"csrf": {token}, "kind": {"hang"}, "app_id": {TestAppID}, "delay": {"forever"}, "out_trade_no": {"DA_9"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "delay") || !strings.Contains(body, `value="DA_9"`) || len(sb.Faults()) != 0 {
		t.Fatalf("bad fault form: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.page("POST", "/sandbox/faults", url.Values{"csrf": {token}, "kind": {"hang"}, "count": {"x"}}); resp.StatusCode != http.StatusBadRequest || len(sb.Faults()) != 0 {
		t.Fatalf("bad count: %d", resp.StatusCode)
	}
	if resp, _ := e.page("POST", "/sandbox/faults", url.Values{"kind": {"hang"}}); resp.StatusCode != http.StatusForbidden || len(sb.Faults()) != 0 {
		t.Fatalf("fault without token: %d", resp.StatusCode)
	}
	resp, _ = e.page("POST", "/sandbox/faults", url.Values{"csrf": {token}, "kind": {"lose_answer"}, "app_id": {TestAppID}, "method": {"alipay.trade.refund"}, "count": {"2"}})
	fs := sb.Faults()
	if resp.StatusCode != http.StatusSeeOther || len(fs) != 1 || fs[0].Kind != FaultLoseAnswer || fs[0].Count != 2 || fs[0].Method != "alipay.trade.refund" {
		t.Fatalf("add fault: %d %+v", resp.StatusCode, fs)
	}
	if resp, _ := e.page("POST", "/sandbox/faults/"+fs[0].ID+"/delete", url.Values{}); resp.StatusCode != http.StatusForbidden || len(sb.Faults()) != 1 {
		t.Fatalf("delete without token: %d", resp.StatusCode)
	}
	if resp, _ := e.page("POST", "/sandbox/faults/"+fs[0].ID+"/delete", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther || len(sb.Faults()) != 0 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp, _ := e.page("POST", "/sandbox/faults/"+fs[0].ID+"/delete", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("delete again: %d", resp.StatusCode)
	}
}

func TestDashboardToken(t *testing.T) {
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
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	client := *srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	do := func(method, path string, form url.Values, cookie *http.Cookie) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Host = "sandbox.internal" // any host, with a token
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := do("GET", "/sandbox/", nil, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/sandbox/login" {
		t.Fatalf("without login: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := do("GET", "/sandbox/", nil, &http.Cookie{Name: dashboardCookie, Value: "s3cret-token"}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the token itself as cookie: %d", resp.StatusCode)
	}
	if resp := do("POST", "/sandbox/login", url.Values{"token": {"wrong"}}, nil); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	resp := do("POST", "/sandbox/login", url.Values{"token": {"s3cret-token"}}, nil)
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || strings.Contains(cookies[0].Value, "s3cret") {
		t.Fatalf("login: %d %+v", resp.StatusCode, cookies)
	}
	if resp := do("GET", "/sandbox/", nil, cookies[0]); resp.StatusCode != http.StatusOK {
		t.Fatalf("logged in: %d", resp.StatusCode)
	}
}
