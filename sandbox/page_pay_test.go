package sandbox

import (
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"zhifu/alipay"
)

// browser is an HTTP client that does not follow redirects, so that each
// step of the page flow can be looked at.
func (e *env) browser() *http.Client {
	c := *e.ts.Server.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// do sends req and returns the response with its body read.
func (e *env) do(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.browser().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(b)
}

func (e *env) get(u string) (*http.Response, string) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

func (e *env) postForm(u string, form url.Values) (*http.Response, string) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

var (
	formAction  = regexp.MustCompile(`<form[^>]* action="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	textByID    = func(id string) *regexp.Regexp { return regexp.MustCompile(`id="` + id + `">([^<]*)<`) }
)

// submitForm posts the SDK's self-submitting form as a browser would.
func (e *env) submitForm(form string) (*http.Response, string) {
	e.t.Helper()
	m := formAction.FindStringSubmatch(form)
	if m == nil {
		e.t.Fatalf("no form action in %s", form)
	}
	values := url.Values{}
	for _, in := range hiddenInput.FindAllStringSubmatch(form, -1) {
		values.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return e.postForm(html.UnescapeString(m[1]), values)
}

func TestPagePayFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		open func(no string) (*http.Response, string)
	}{
		{"GET URL", func(no string) (*http.Response, string) {
			u, err := e.client.PagePayURL(alipay.TradePagePayRequest{OutTradeNo: no, TotalAmount: 1234, Subject: "茶 Tea & cake",
				ReturnURL: "https://shop.example.com/return?order=" + no + "&lang=zh", NotifyURL: "https://shop.example.com/notify"})
			if err != nil {
				t.Fatal(err)
			}
			return e.get(u)
		}},
		{"POST form", func(no string) (*http.Response, string) {
			f, err := e.client.PagePayForm(alipay.TradePagePayRequest{OutTradeNo: no, TotalAmount: 1234, Subject: "茶 Tea & cake",
				ReturnURL: "https://shop.example.com/return?order=" + no + "&lang=zh", NotifyURL: "https://shop.example.com/notify"})
			if err != nil {
				t.Fatal(err)
			}
			return e.submitForm(f)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			no := "PAGE_" + strings.ReplaceAll(tc.name, " ", "_")
			query := func() (*alipay.TradeQueryResponse, error) {
				return e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: no})
			}
			if _, err := query(); !alipay.IsTradeNotExist(err) {
				t.Fatalf("before opening: %v", err)
			}
			resp, body := tc.open(no)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("gateway answered %d: %s", resp.StatusCode, body)
			}
			cashier := resp.Header.Get("Location")
			resp, body = e.get(cashier)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "¥12.34") || !strings.Contains(body, "茶 Tea &amp; cake") ||
				!strings.Contains(body, TestAppID) {
				t.Fatalf("cashier %d: %s", resp.StatusCode, body)
			}
			q, err := query()
			if err != nil || q.TradeStatus != alipay.TradeStatusWaitBuyerPay {
				t.Fatalf("after opening: %v %+v", err, q)
			}
			// The Pay button.
			resp, body = e.postForm(cashier+"/pay", nil)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("pay answered %d: %s", resp.StatusCode, body)
			}
			ret, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || ret.Host != "shop.example.com" || ret.Path != "/return" {
				t.Fatalf("return to %v", ret)
			}
			rq := ret.Query()
			if rq.Get("order") != no || rq.Get("lang") != "zh" {
				t.Errorf("the merchant's own parameters were lost: %v", rq)
			}
			r, err := e.client.VerifyReturn(rq)
			if err != nil {
				t.Fatalf("VerifyReturn: %v", err)
			}
			if r.Method != "alipay.trade.page.pay.return" || r.OutTradeNo != no || r.TotalAmount != 1234 || r.TradeNo != q.TradeNo ||
				r.AppID != TestAppID || r.SellerID == "" || r.Timestamp.IsZero() {
				t.Errorf("return %+v", r)
			}
			if q, err := query(); err != nil || q.TradeStatus != alipay.TradeStatusSuccess {
				t.Errorf("after paying: %v %+v", err, q)
			}
			// Opening the cashier again shows the trade paid.
			if _, body := e.get(cashier); !strings.Contains(body, "TRADE_SUCCESS") {
				t.Errorf("cashier after paying: %s", body)
			}
		})
	}
}

func TestWapPayCancelAndQuit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, err := e.client.WapPayURL(alipay.TradeWapPayRequest{OutTradeNo: "WAP_1", TotalAmount: 100, Subject: "x", QuitURL: "https://shop.example.com/quit"})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := e.get(u)
	cashier := resp.Header.Get("Location")
	resp, _ = e.postForm(cashier+"/cancel", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example.com/quit" {
		t.Fatalf("cancel: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	s, ok := e.ts.Sandbox.Trade(TestAppID, "WAP_1")
	if !ok || s.Status != alipay.TradeStatusWaitBuyerPay || s.ProductCode != alipay.ProductCodeWapPay {
		t.Fatalf("after leaving: %+v", s)
	}
	// Paid without a browser, and without a return_url the cashier shows
	// the result.
	if err := e.ts.Sandbox.Pay(TestAppID, "WAP_1"); err != nil {
		t.Fatal(err)
	}
	resp, body := e.postForm(cashier+"/pay", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "TRADE_SUCCESS") {
		t.Errorf("pay again: %d %s", resp.StatusCode, body)
	}
}

// Sandbox.Pay opens a checkout nobody opened and pays it.
func TestPayUnopenedCheckout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, err := e.client.PagePayURL(alipay.TradePagePayRequest{OutTradeNo: "UNOPENED", TotalAmount: 100, Subject: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ts.Sandbox.Pay(TestAppID, "UNOPENED"); !errors.Is(err, alipay.SubCodeTradeNotExist) {
		t.Fatalf("Pay before the gateway saw the request: %v", err)
	}
	if resp, _ := e.get(u); resp.StatusCode != http.StatusSeeOther {
		t.Fatal(resp.Status)
	}
	if err := e.ts.Sandbox.Close(TestAppID, "UNOPENED"); !errors.Is(err, alipay.SubCodeTradeNotExist) {
		t.Fatalf("Close of a checkout: %v", err)
	}
	if err := e.ts.Sandbox.Pay(TestAppID, "UNOPENED"); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.ts.Sandbox.Trade(TestAppID, "UNOPENED"); s.Status != alipay.TradeStatusSuccess {
		t.Errorf("%+v", s)
	}
}

func TestPagePayErrorPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, err := e.client.PagePayURL(alipay.TradePagePayRequest{OutTradeNo: "BAD_PAGE", TotalAmount: 100, Subject: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url, sub string
	}{
		{"tampered", strings.Replace(u, "BAD_PAGE", "BAD_PAGX", 1), "isv.invalid-signature"},
		{"unknown app", strings.Replace(u, "app_id="+TestAppID, "app_id=2021000000000999", 1), "isv.invalid-app-id"},
		{"no sign", regexp.MustCompile(`&sign=[^&]*`).ReplaceAllString(u, ""), "isv.missing-signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := e.get(tc.url)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if m := textByID("sub-code").FindStringSubmatch(body); m == nil || m[1] != tc.sub {
				t.Errorf("sub_code %v, want %s\n%s", m, tc.sub, body)
			}
		})
	}
	// A changed repeat of an opened page payment.
	if resp, _ := e.get(u); resp.StatusCode != http.StatusSeeOther {
		t.Fatal(resp.Status)
	}
	u2, _ := e.client.PagePayURL(alipay.TradePagePayRequest{OutTradeNo: "BAD_PAGE", TotalAmount: 200, Subject: "x"})
	_, body := e.get(u2)
	if m := textByID("sub-code").FindStringSubmatch(body); m == nil || m[1] != string(alipay.SubCodeContextInconsistent) {
		t.Errorf("changed repeat: %s", body)
	}
	if resp, _ := e.get(e.ts.Server.URL + "/cashier/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown cashier: %s", resp.Status)
	}
}
