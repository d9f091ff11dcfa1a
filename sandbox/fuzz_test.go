package sandbox

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
)

// FuzzGateway sends random query strings and form bodies to the gateway:
// it must never answer 5xx or panic, and every JSON answer must cut and
// verify (or be an unsigned error_response); HTML answers are error pages
// or redirects.
func FuzzGateway(f *testing.F) {
	ts := NewTestServer(f)
	key, err := alipay.ParsePrivateKey(ts.AppPrivateKeyPEM)
	if err != nil {
		f.Fatal(err)
	}
	seed := func(method, biz string) string {
		p := url.Values{"app_id": {TestAppID}, "method": {method}, "charset": {"utf-8"}, "sign_type": {"RSA2"},
			"timestamp": {alipay.FormatTime(time.Now())}, "version": {"1.0"}, "biz_content": {biz}}
		sig, _ := alipay.SignRequest(key, alipay.SignTypeRSA2, p)
		p.Set("sign", sig)
		return p.Encode()
	}
	for _, m := range []string{"alipay.trade.query", "alipay.trade.refund", "alipay.trade.cancel", "alipay.trade.close", "alipay.trade.fastpay.refund.query"} {
		f.Add("", seed(m, `{"out_trade_no":"F1","refund_amount":"1.00","out_request_no":"R"}`))
	}
	f.Add("", seed("alipay.trade.precreate", `{"out_trade_no":"F2","total_amount":"0.01","subject":"s"}`))
	f.Add("", seed("alipay.trade.pay", `{"out_trade_no":"F3","total_amount":1,"subject":"s","auth_code":"`+AuthCodeSuccess+`"}`))
	f.Add("", seed("alipay.trade.create", `{"out_trade_no":"F4","total_amount":"1","subject":"s","buyer_id":"2088000000000001"}`))
	f.Add("method=alipay.trade.page.pay", seed("alipay.trade.page.pay", `{"out_trade_no":"F5","total_amount":"1","subject":"s"}`))
	f.Add("a=%zz", "b=%")
	f.Add("", "app_id=x&method=alipay.trade.query")
	f.Fuzz(func(t *testing.T, query, body string) {
		req := httptest.NewRequest(http.MethodPost, "/gateway.do", strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		ts.Sandbox.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		out := rec.Body.Bytes()
		if !bytes.HasPrefix(out, []byte("{")) {
			if rec.Code != http.StatusSeeOther && !bytes.Contains(out, []byte(`id="sub-code"`)) {
				t.Fatalf("status %d, neither JSON nor an error page: %s", rec.Code, out)
			}
			return
		}
		params, _ := url.ParseQuery(query)
		form, _ := url.ParseQuery(body)
		method := params.Get("method")
		if method == "" {
			method = form.Get("method")
		}
		if _, err := alipay.VerifyResponse(ts.Sandbox.AlipayPublicKey(), alipay.SignTypeRSA2, out, method); err != nil {
			t.Fatalf("answer does not verify: %v\n%s", err, out)
		}
	})
}
