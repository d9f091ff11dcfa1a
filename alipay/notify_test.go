package alipay

import (
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// newTestClient returns a key-mode client of the vectors' app.
func newTestClient(t testing.TB) *Client {
	t.Helper()
	c, err := New(Config{
		AppID:           "2021000000000001",
		PrivateKey:      string(readTestdata(t, "keys/app_private_pkcs1.pem")),
		AlipayPublicKey: string(readTestdata(t, "keys/alipay_public.pem")),
		Gateway:         GatewaySandbox,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNotifyVectors verifies every notify of the vectors from the decoded
// form and from the raw POST body: accepted exactly when the official SDK's
// checkNotifySignV2 accepted it.
func TestNotifyVectors(t *testing.T) {
	var file struct {
		NotifyCases []notifyCase `json:"notify_cases"`
	}
	loadVectors(t, "notify.json", &file)
	c := newTestClient(t)
	for _, tc := range file.NotifyCases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			want := tc.SDK.CheckNotifySignV2 == true
			form := valuesOf(tc.PostedForm)
			n, err := c.VerifyNotification(form)
			if want != (err == nil) {
				t.Fatalf("accepted = %v, official SDK = %v: %v", err == nil, want, err)
			}
			if !want {
				if !errors.Is(err, ErrSignature) {
					t.Fatalf("rejection is not ErrSignature: %v", err)
				}
				return
			}
			if tc.Name != "signed_including_sign_type" && NotifyStringToSign(form) != tc.StringToSign {
				t.Fatalf("string to sign\n got %s\nwant %s", NotifyStringToSign(form), tc.StringToSign)
			}
			if n.OutTradeNo != tc.PostedForm["out_trade_no"] || n.TotalAmount.String() != tc.PostedForm["total_amount"] ||
				string(n.TradeStatus) != tc.PostedForm["trade_status"] || n.NotifyID != tc.PostedForm["notify_id"] {
				t.Fatalf("parsed %+v", n)
			}
			// The same notify as the HTTP request Alipay makes.
			r := httptest.NewRequest(http.MethodPost, "/alipay/notify?shop=1", strings.NewReader(tc.PostedBody))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			n2, err := c.ParseNotification(r)
			if err != nil {
				t.Fatalf("from the POST body: %v", err)
			}
			if n2.TotalAmount != n.TotalAmount || n2.OutTradeNo != n.OutTradeNo {
				t.Fatalf("POST body parsed differently: %+v", n2)
			}
		})
	}
}

func TestNotificationFields(t *testing.T) {
	t.Parallel()
	var file struct {
		NotifyCases []notifyCase `json:"notify_cases"`
	}
	loadVectors(t, "notify.json", &file)
	c := newTestClient(t)
	byName := map[string]notifyCase{}
	for _, tc := range file.NotifyCases {
		byName[tc.Name] = tc
	}
	n, err := c.VerifyNotification(valuesOf(byName["trade_success"].PostedForm))
	if err != nil {
		t.Fatal(err)
	}
	if n.TotalAmount != 1 || n.BuyerPayAmount != 1 || n.PointAmount != 0 || !n.TradeStatus.Paid() || n.IsRefund() {
		t.Errorf("amounts or status: %+v", n)
	}
	wantPaid := time.Date(2024, 5, 20, 4, 35, 30, 0, time.UTC)
	if !n.GmtPayment.Equal(wantPaid) {
		t.Errorf("gmt_payment %v, want %v (Beijing time)", n.GmtPayment, wantPaid)
	}
	bills, err := n.FundBills()
	if err != nil || len(bills) != 1 || bills[0].FundChannel != "ALIPAYACCOUNT" || bills[0].Amount != 1 {
		t.Errorf("fund bills %+v, %v", bills, err)
	}
	refund, err := c.VerifyNotification(valuesOf(byName["partial_refund"].PostedForm))
	if err != nil {
		t.Fatal(err)
	}
	if !refund.IsRefund() || refund.TradeStatus != TradeStatusSuccess || refund.OutBizNo == "" || refund.GmtRefund.IsZero() {
		t.Errorf("partial refund: %+v", refund)
	}
	closed, err := c.VerifyNotification(valuesOf(byName["trade_closed"].PostedForm))
	if err != nil {
		t.Fatal(err)
	}
	if closed.TradeStatus != TradeStatusClosed || closed.GmtClose.IsZero() || closed.TradeStatus.Paid() {
		t.Errorf("closed: %+v", closed)
	}
}

// TestNotifyForgeries: what a stranger might post to the notify URL.
func TestNotifyForgeries(t *testing.T) {
	t.Parallel()
	var file struct {
		NotifyCases []notifyCase `json:"notify_cases"`
	}
	loadVectors(t, "notify.json", &file)
	c := newTestClient(t)
	genuine := valuesOf(file.NotifyCases[0].PostedForm)
	appPriv := testPrivateKey(t, "app_private_pkcs1.pem")
	alipayPriv := testPrivateKey(t, "alipay_private_pkcs1.pem")

	edit := func(f func(url.Values)) url.Values {
		v := url.Values{}
		for k, s := range genuine {
			v[k] = append([]string(nil), s...)
		}
		f(v)
		return v
	}
	signWith := func(v url.Values, priv *rsa.PrivateKey) url.Values {
		s, err := SignNotify(priv, SignTypeRSA2, v)
		if err != nil {
			t.Fatal(err)
		}
		v.Set("sign", s)
		return v
	}
	for _, tc := range []struct {
		name string
		form url.Values
		sig  bool // the failure is a signature failure
	}{
		{"amount raised", edit(func(v url.Values) { v.Set("total_amount", "100.00") }), true},
		{"status changed", edit(func(v url.Values) { v.Set("trade_status", "TRADE_FINISHED") }), true},
		{"field added", edit(func(v url.Values) { v.Set("refund_fee", "0.01") }), true},
		{"field removed", edit(func(v url.Values) { v.Del("buyer_id") }), true},
		{"sign removed", edit(func(v url.Values) { v.Del("sign") }), true},
		{"sign of another notify", edit(func(v url.Values) { v.Set("out_trade_no", "OTHER") }), true},
		{"value with trailing space", edit(func(v url.Values) { v.Set("subject", v.Get("subject")+" ") }), true},
		{"signed by the app key", signWith(edit(func(v url.Values) { v.Set("total_amount", "100.00") }), appPriv), true},
		{"sign_type downgrade", edit(func(v url.Values) { v.Set("sign_type", "RSA") }), true},
		{"another app, signed by Alipay", signWith(edit(func(v url.Values) { v.Set("app_id", "2021000000000999") }), alipayPriv), false},
		{"garbage amount, signed by Alipay", signWith(edit(func(v url.Values) { v.Set("total_amount", "1e3") }), alipayPriv), false},
		{"empty", url.Values{}, false},
	} {
		_, err := c.VerifyNotification(tc.form)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if tc.sig != errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}

func TestReturnVector(t *testing.T) {
	t.Parallel()
	var file struct {
		ReturnCase notifyCase `json:"return_case"`
	}
	loadVectors(t, "notify.json", &file)
	c := newTestClient(t)
	u, err := url.Parse(file.ReturnCase.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, u.RequestURI(), nil)
	ret, err := c.ParseReturn(r)
	if err != nil {
		t.Fatal(err)
	}
	if ret.OutTradeNo != "ORDER_20240520_0001" || ret.TotalAmount != 1 || ret.Method != "alipay.trade.page.pay.return" {
		t.Fatalf("%+v", ret)
	}
	// The merchant's own query parameters beside Alipay's still verify.
	q := u.Query()
	q.Set("lang", "zh")
	q.Set("order", "ORDER_20240520_0001")
	if _, err := c.VerifyReturn(q); err != nil {
		t.Fatalf("with merchant parameters: %v", err)
	}
	// But a changed amount does not.
	q.Set("total_amount", "100.00")
	if _, err := c.VerifyReturn(q); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered return: %v", err)
	}
}

// FuzzParseNotification parses the fields of any form as if Alipay had
// signed it (the signature check itself is RSA, which the fuzzer's
// instrumentation makes too slow to explore): a Notification or an error,
// never a panic, and amounts and times that say what the text says.
func FuzzParseNotification(f *testing.F) {
	var file struct {
		NotifyCases []notifyCase `json:"notify_cases"`
	}
	loadVectors(f, "notify.json", &file)
	for _, tc := range file.NotifyCases {
		f.Add(tc.PostedBody)
	}
	c := newTestClient(f)
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		form.Set("app_id", c.AppID())
		var stack [48]param
		ps, _ := formParams(stack[:0], form)
		n, err := c.parseNotification(ps, form)
		if err != nil {
			return
		}
		if s := form.Get("total_amount"); s != "" {
			if a, err := ParseAmount(s); err != nil || a != n.TotalAmount {
				t.Fatalf("total_amount %q parsed as %v", s, n.TotalAmount)
			}
		}
		if s := form.Get("gmt_payment"); s != "" {
			if tm, err := ParseTime(s); err != nil || !tm.Equal(n.GmtPayment) {
				t.Fatalf("gmt_payment %q parsed as %v", s, n.GmtPayment)
			}
		}
		if n.OutTradeNo != form.Get("out_trade_no") || n.TradeStatus != TradeStatus(form.Get("trade_status")) {
			t.Fatalf("fields differ from the form: %+v", n)
		}
	})
}
