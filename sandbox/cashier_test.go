package sandbox

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
)

// element is an HTML element with an id, as parseHTML finds it.
type element struct {
	tag   string
	attrs map[string]string
	text  string   // all the text inside
	form  *element // the form it is in, if any
}

// parseHTML parses a page (leniently, as HTML) and returns its elements
// with an id. It fails the test if the page does not parse.
func parseHTML(t *testing.T, page string) map[string]*element {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	byID := map[string]*element{}
	var stack []*element
	var form *element
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the page does not parse: %v\n%s", err, page)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			el := &element{tag: tok.Name.Local, attrs: map[string]string{}, form: form}
			for _, a := range tok.Attr {
				el.attrs[a.Name.Local] = a.Value
			}
			if el.tag == "form" {
				form = el
			}
			if id := el.attrs["id"]; id != "" {
				if byID[id] != nil {
					t.Errorf("two elements with id %q", id)
				}
				byID[id] = el
			}
			stack = append(stack, el)
		case xml.EndElement:
			if len(stack) > 0 {
				if stack[len(stack)-1].tag == "form" {
					form = nil
				}
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			for _, el := range stack {
				el.text += string(tok)
			}
		}
	}
	return byID
}

// openCashier starts a page payment and opens its cashier, returning the
// cashier's URL and page.
func (e *notifyEnv) openCashier(req alipay.TradePagePayRequest) (string, string) {
	e.t.Helper()
	req.NotifyURL = e.rc.URL
	u, err := e.client.PagePayURL(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, _ := e.get(u)
	cashier := resp.Header.Get("Location")
	resp, body := e.get(cashier)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("cashier: %d %s", resp.StatusCode, body)
	}
	return cashier, body
}

func TestCashierPage(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	subject := `<script>alert("x")</script> 茶 & "cake"`
	cashier, body := e.openCashier(alipay.TradePagePayRequest{OutTradeNo: "CP_1", TotalAmount: 1234, Subject: subject,
		Body: "<b>two</b>", TimeoutExpress: "90m", ReturnURL: "https://shop.example.com/return"})
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>two") {
		t.Fatalf("the merchant's text is not escaped:\n%s", body)
	}
	els := parseHTML(t, body)
	tr, _ := e.sb.Trade(TestAppID, "CP_1")
	for id, want := range map[string]string{
		"subject": subject, "body": "<b>two</b>", "app-id": TestAppID, "out-trade-no": "CP_1", "trade-no": tr.TradeNo,
		"trade-status": "WAIT_BUYER_PAY", "buyer": sandboxBuyerAccount, "balance": sandboxBuyerBalance,
		"expires-at": alipay.FormatTime(e.start.Add(90 * time.Minute)),
	} {
		if el := els[id]; el == nil || strings.TrimSpace(el.text) != want {
			t.Errorf("#%s = %+v, want %q", id, el, want)
		}
	}
	if el := els["amount"]; el == nil || el.text != "¥12.34" {
		t.Errorf("#amount %+v", el)
	}
	if el := els["time-left"]; el == nil || !strings.Contains(el.text, "1小时30分 (1h 30m)") {
		t.Errorf("#time-left %+v", el)
	}
	for _, b := range []string{"pay", "fail", "cancel"} {
		el := els[b]
		if el == nil || el.tag != "button" || el.attrs["type"] != "submit" || el.form == nil ||
			el.form.attrs["method"] != "post" || el.form.attrs["action"] != cashier+"/"+b {
			t.Errorf("button #%s: %+v in form %+v", b, el, el.form)
		}
	}
	if !strings.Contains(els["pay"].text, "支付") || !strings.Contains(els["fail"].text, "余额不足") {
		t.Errorf("button labels %q %q", els["pay"].text, els["fail"].text)
	}
	qr := els["qr"]
	if qr == nil || qr.tag != "a" || !strings.HasSuffix(qr.attrs["href"], "/qr/"+strings.TrimPrefix(cashier, e.ts.Server.URL+"/cashier/")) {
		t.Errorf("#qr %+v", qr)
	}
	if !strings.Contains(body, "支付宝") || !strings.Contains(body, "收银台") || !strings.Contains(body, "Alipay cashier") {
		t.Error("the page does not say it is Alipay's cashier")
	}
	// The cashier's pages load nothing from elsewhere: the one image is
	// the QR code, from the sandbox itself.
	if strings.Contains(body, "<link") || strings.Contains(body, "<script") || strings.Count(body, "src=") != strings.Count(body, `src="/qr/`) {
		t.Error("the page loads outside resources")
	}
	// The actions take no GET.
	if resp, _ := e.get(cashier + "/pay"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET pay: %s", resp.Status)
	}
}

// 余额不足 fails the payment: the trade stays waiting, the page says why,
// nothing is notified; paying afterwards works.
func TestCashierInsufficientBalance(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	cashier, _ := e.openCashier(alipay.TradePagePayRequest{OutTradeNo: "CF_1", TotalAmount: 500, Subject: "x",
		ReturnURL: "https://shop.example.com/return"})
	resp, body := e.postForm(cashier+"/fail", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fail: %d", resp.StatusCode)
	}
	els := parseHTML(t, body)
	if el := els["error"]; el == nil || !strings.Contains(el.text, "余额不足") {
		t.Errorf("#error %+v", el)
	}
	if els["pay"] == nil || strings.TrimSpace(els["trade-status"].text) != "WAIT_BUYER_PAY" {
		t.Error("the cashier is not shown again to pay")
	}
	e.deliver()
	q, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "CF_1"})
	if err != nil || q.TradeStatus != alipay.TradeStatusWaitBuyerPay {
		t.Fatalf("after failing: %v %+v", err, q)
	}
	if n := len(e.rc.received()); n != 0 {
		t.Errorf("%d notifies of a failed payment", n)
	}
	if resp, _ := e.postForm(cashier+"/pay", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %s", resp.Status)
	}
	e.deliver()
	if got := e.rc.received(); len(got) != 1 || e.verify(got[0]).TradeStatus != alipay.TradeStatusSuccess {
		t.Errorf("notifies %v", got)
	}
	// A paid trade's cashier shows the result, and failing it changes nothing.
	_, body = e.postForm(cashier+"/fail", nil)
	if els := parseHTML(t, body); els["result"] == nil || els["pay"] != nil {
		t.Errorf("fail after paying:\n%s", body)
	}
}

// The precreate QR code opens the scan page: the trade exists from then,
// and paying there notifies without a redirect.
func TestScanPage(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	pre, err := e.client.TradePrecreate(ctx, alipay.TradePrecreateRequest{OutTradeNo: "QR_1", TotalAmount: 888, Subject: "扫码 Scan",
		NotifyURL: e.rc.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "QR_1"}); !alipay.IsTradeNotExist(err) {
		t.Fatalf("before scanning: %v", err)
	}
	resp, body := e.get(pre.QRCode)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scan page: %d %s", resp.StatusCode, body)
	}
	els := parseHTML(t, body)
	if els["amount"] == nil || els["amount"].text != "¥8.88" || els["pay"] == nil || els["pay"].form == nil ||
		strings.TrimSpace(els["subject"].text) != "扫码 Scan" {
		t.Fatalf("scan page:\n%s", body)
	}
	q, err := e.client.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "QR_1"})
	if err != nil || q.TradeStatus != alipay.TradeStatusWaitBuyerPay {
		t.Fatalf("after scanning: %v %+v", err, q)
	}
	resp, body = e.postForm(els["pay"].form.attrs["action"], nil)
	if resp.StatusCode != http.StatusOK || parseHTML(t, body)["result"] == nil {
		t.Fatalf("pay on the phone: %d\n%s", resp.StatusCode, body)
	}
	e.deliver()
	got := e.rc.received()
	if len(got) != 1 {
		t.Fatalf("%d notifies", len(got))
	}
	if n := e.verify(got[0]); n.TradeStatus != alipay.TradeStatusSuccess || n.TotalAmount != 888 || n.OutTradeNo != "QR_1" {
		t.Errorf("notify %+v", n)
	}
	if resp, _ := e.get(e.ts.Server.URL + "/qr/unknown"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown code: %s", resp.Status)
	}
}

func TestTimeLeft(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Second:                   "已超时 expired",
		90 * time.Second:               "2分 (2m)",
		2*time.Hour + 5*time.Minute:    "2小时5分 (2h 5m)",
		15 * 24 * time.Hour:            "15天0小时0分 (15d 0h 0m)",
		24*time.Hour + 59*time.Minute:  "1天0小时59分 (1d 0h 59m)",
		time.Minute - time.Millisecond: "1分 (1m)",
	} {
		if got := timeLeft(d); got != want {
			t.Errorf("timeLeft(%v) = %q, want %q", d, got, want)
		}
	}
}
