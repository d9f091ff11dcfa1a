package httpapi_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"zhifu/alipay"
	"zhifu/internal/httpapi"
	"zhifu/payment"
)

// FuzzCreatePaymentRequest decodes arbitrary bodies of POST /v1/payments:
// it never panics, refuses with a 4xx error that has a code and a
// message, and what it accepts is a request the service can take, which
// encodes back to a body that decodes to the same request.
func FuzzCreatePaymentRequest(f *testing.F) {
	for _, seed := range []string{
		`{"subject":"s","amount":"12.34","channel":"page"}`,
		`{"subject":"咖啡","amount":"0.01","channel":"precreate","metadata":{"a":"b"},"out_trade_no":"A_1","expires_in":600,"return_url":"https://a.example/r"}`,
		`{"subject":"s","amount":"0.001","channel":"page"}`,
		`{"subject":"s","amount":12.34,"channel":"page"}`,
		`{"subject":"s","amount":"1e3","channel":"page"} trailing`,
		`{"subject":"s","amount":"-1","channel":"app","metadata":{"zhifu.x":"y"}}`,
		`[1,2]`, `null`, `{`, `{"subject":"\u0000"}`, `{"expires_in":1e400}`, `{"metadata":{"a":null}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := httpapi.ParseCreatePaymentRequest(body)
		if e != nil {
			if e.Status < 400 || e.Status > 499 || e.Code == "" || e.Message == "" || !utf8.ValidString(e.Message) {
				t.Fatalf("error %+v: want a 4xx with a code and a message", e)
			}
			return
		}
		if req.Amount < payment.MinTradeAmount || req.Amount > payment.MaxTradeAmount || !req.Channel.Valid() ||
			req.Subject == "" || (req.ExpiresIn != 0 && (req.ExpiresIn < payment.MinExpiry || req.ExpiresIn > payment.MaxExpiry)) {
			t.Fatalf("accepted a request the service refuses: %+v", req)
		}
		again, err := json.Marshal(httpapi.CreatePaymentRequest{
			Subject: req.Subject, Amount: req.Amount.String(), Channel: string(req.Channel), ReturnURL: req.ReturnURL,
			OutTradeNo: req.OutTradeNo, Metadata: req.Metadata, ExpiresIn: int64(req.ExpiresIn.Seconds()),
		})
		if err != nil {
			t.Fatal(err)
		}
		req2, e := httpapi.ParseCreatePaymentRequest(again)
		if e != nil || !reflect.DeepEqual(req, req2) {
			t.Fatalf("round trip: %+v then %+v, %v", req, req2, e)
		}
		if _, err := alipay.ParseAmount(req.Amount.String()); err != nil {
			t.Fatal(err)
		}
	})
}
