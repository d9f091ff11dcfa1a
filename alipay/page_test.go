package alipay

import (
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func pagePayVector(t *testing.T) requestCase {
	t.Helper()
	var file struct{ Cases []requestCase }
	loadVectors(t, "request_signing.json", &file)
	for _, tc := range file.Cases {
		if tc.Name == "page_pay_get" {
			return tc
		}
	}
	t.Fatal("no page_pay_get vector")
	return requestCase{}
}

// TestPagePayURL builds the vector's page payment and checks the URL: the
// biz_content is the very JSON text the official SDK produced, and the
// signature holds over what a gateway decodes from the URL.
func TestPagePayURL(t *testing.T) {
	t.Parallel()
	vec := pagePayVector(t)
	g := newTestGateway(t, nil)
	c := g.client()
	u, err := c.PagePayURL(TradePagePayRequest{
		OutTradeNo:     "ORDER_20240520_0001",
		TotalAmount:    1,
		Subject:        "测试商品 Tea",
		Body:           "Tea & Cake = 2 items",
		TimeoutExpress: "15m",
		ReturnURL:      "https://merchant.example.com/pay/return?order=ORDER_20240520_0001&lang=zh",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, g.url()+"?") {
		t.Fatalf("URL %s", u)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	if q.Get("biz_content") != vec.Params["biz_content"] {
		t.Errorf("biz_content\n got %s\nwant %s", q.Get("biz_content"), vec.Params["biz_content"])
	}
	for _, k := range []string{"app_id", "method", "charset", "sign_type", "timestamp", "version", "notify_url", "return_url"} {
		if q.Get(k) != vec.Params[k] {
			t.Errorf("%s = %q, want %q", k, q.Get(k), vec.Params[k])
		}
	}
	if err := VerifyRequest(g.appKey, q); err != nil {
		t.Fatal(err)
	}
}

func TestPagePayForm(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, nil)
	c := g.client()
	subject := `Tea "<b>&amp;</b>"`
	form, err := c.PagePayForm(TradePagePayRequest{OutTradeNo: "A1", TotalAmount: 1234, Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	action := regexp.MustCompile(`action="([^"]*)"`).FindStringSubmatch(form)
	hidden := regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`).FindAllStringSubmatch(form, -1)
	if action == nil || len(hidden) != 1 || hidden[0][1] != "biz_content" {
		t.Fatalf("form %s", form)
	}
	u, err := url.Parse(html.UnescapeString(action[1]))
	if err != nil {
		t.Fatal(err)
	}
	params := u.Query()
	if params.Has("biz_content") {
		t.Fatal("biz_content both in the action and in the form")
	}
	params.Set("biz_content", html.UnescapeString(hidden[0][2]))
	if err := VerifyRequest(g.appKey, params); err != nil {
		t.Fatal(err)
	}
	var biz map[string]string
	if err := json.Unmarshal([]byte(params.Get("biz_content")), &biz); err != nil {
		t.Fatal(err)
	}
	if biz["subject"] != subject || biz["total_amount"] != "12.34" || biz["product_code"] != ProductCodePagePay {
		t.Fatalf("biz_content %v", biz)
	}
	if strings.Contains(form, "<b>") {
		t.Fatal("subject not HTML-escaped")
	}
}

func TestWapAndAppPay(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, nil)
	c := g.client()
	u, err := c.WapPayURL(TradeWapPayRequest{OutTradeNo: "W1", TotalAmount: 10000, Subject: "s", QuitURL: "https://m.example.com/cart"})
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := url.Parse(u)
	q := parsed.Query()
	if q.Get("method") != "alipay.trade.wap.pay" || !strings.Contains(q.Get("biz_content"), `"product_code":"QUICK_WAP_WAY"`) ||
		!strings.Contains(q.Get("biz_content"), `"total_amount":"100.00"`) {
		t.Fatalf("wap %v", q)
	}
	if err := VerifyRequest(g.appKey, q); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WapPayForm(TradeWapPayRequest{OutTradeNo: "W1", TotalAmount: 1, Subject: "s"}); err != nil {
		t.Fatal(err)
	}
	order, err := c.AppPayOrderString(TradeAppPayRequest{OutTradeNo: "P1", TotalAmount: 1, Subject: "s"})
	if err != nil {
		t.Fatal(err)
	}
	params, err := url.ParseQuery(order)
	if err != nil {
		t.Fatal(err)
	}
	if params.Get("method") != "alipay.trade.app.pay" || params.Get("notify_url") != "https://merchant.example.com/alipay/notify" {
		t.Fatalf("order string %v", params)
	}
	if err := VerifyRequest(g.appKey, params); err != nil {
		t.Fatal(err)
	}
}

func TestPaymentValidation(t *testing.T) {
	t.Parallel()
	c := newTestGateway(t, nil).client()
	ok := TradePagePayRequest{OutTradeNo: "A1", TotalAmount: 1, Subject: "s"}
	for _, tc := range []struct {
		name string
		edit func(*TradePagePayRequest)
		want string
	}{
		{"no out_trade_no", func(r *TradePagePayRequest) { r.OutTradeNo = "" }, "OutTradeNo is empty"},
		{"out_trade_no with a dash", func(r *TradePagePayRequest) { r.OutTradeNo = "A-1" }, "only letters, digits and underscores"},
		{"out_trade_no too long", func(r *TradePagePayRequest) { r.OutTradeNo = strings.Repeat("A", 65) }, "at most 64"},
		{"zero amount", func(r *TradePagePayRequest) { r.TotalAmount = 0 }, "TotalAmount"},
		{"negative amount", func(r *TradePagePayRequest) { r.TotalAmount = -1 }, "TotalAmount"},
		{"amount too large", func(r *TradePagePayRequest) { r.TotalAmount = MaxTradeAmount + 1 }, "TotalAmount"},
		{"blank subject", func(r *TradePagePayRequest) { r.Subject = "  " }, "Subject is empty"},
		{"long subject", func(r *TradePagePayRequest) { r.Subject = strings.Repeat("茶", 257) }, "257 characters"},
		{"bad timeout", func(r *TradePagePayRequest) { r.TimeoutExpress = "1.5h" }, "TimeoutExpress"},
		{"time_expire in the past", func(r *TradePagePayRequest) { r.TimeExpire = Time{time.Date(2024, 5, 20, 4, 0, 0, 0, time.UTC)} }, "TimeExpire"},
		{"time_expire in a month", func(r *TradePagePayRequest) { r.TimeExpire = Time{time.Date(2024, 6, 20, 4, 0, 0, 0, time.UTC)} }, "TimeExpire"},
		{"relative return url", func(r *TradePagePayRequest) { r.ReturnURL = "/return" }, "ReturnURL"},
		{"javascript notify url", func(r *TradePagePayRequest) { r.NotifyURL = "javascript:alert(1)" }, "NotifyURL"},
	} {
		req := ok
		tc.edit(&req)
		_, err := c.PagePayURL(req)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "alipay: alipay.trade.page.pay: ") {
			t.Errorf("%s: err = %v, want it to say %q", tc.name, err, tc.want)
		}
	}
}
