package alipay

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The benchmarks come in pairs: an SDK operation and, beside it, the raw
// crypto/rsa operation it cannot avoid, with the same key on a precomputed
// SHA-256 digest. The difference is what the SDK adds: building and hashing
// the string to sign, encoding, parsing. bench/alipay.sh runs them and also
// counts instructions with callgrind; docs/BENCHMARKS.md has the numbers.
//
// Inputs are the vectors of testdata/: the app key that signs requests
// (keys/app_private_pkcs8.pem), Alipay's public key that verifies notifies
// and responses (keys/alipay_public.pem), the trade_success notify of
// notify.json and the query_success response of response_verification.json.

// benchTime is the fixed clock of the benchmarks: the vectors' timestamp.
var benchTime = time.Date(2024, 5, 20, 12, 34, 56, 0, beijing)

func benchClient(b *testing.B) *Client {
	b.Helper()
	c, err := New(Config{
		AppID:           "2021000000000001",
		PrivateKey:      string(readTestdata(b, "keys/app_private_pkcs8.pem")),
		AlipayPublicKey: string(readTestdata(b, "keys/alipay_public.pem")),
		Gateway:         GatewaySandbox,
		Now:             func() time.Time { return benchTime },
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// benchPagePayRequest is the order of the page_pay_get vector: a Chinese
// subject, a body with spaces, & and =, and a return URL with a query.
var benchPagePayRequest = TradePagePayRequest{
	OutTradeNo:     "ORDER_20240520_0001",
	TotalAmount:    1,
	Subject:        "测试商品 Tea",
	Body:           "Tea & Cake = 2 items",
	TimeoutExpress: "15m",
	ReturnURL:      "https://merchant.example.com/pay/return?order=ORDER_20240520_0001&lang=zh",
	NotifyURL:      "https://merchant.example.com/alipay/notify",
}

// BenchmarkRawRSASign is the baseline of BenchmarkPagePayURL: one
// RSASSA-PKCS1-v1_5 signature with the app key over a precomputed digest.
func BenchmarkRawRSASign(b *testing.B) {
	priv := testPrivateKey(b, "app_private_pkcs8.pem")
	digest := sha256.Sum256([]byte("the string to sign of a page.pay request"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPagePayURL signs an alipay.trade.page.pay request and returns the
// URL to redirect to: validation, biz_content JSON, the string to sign, its
// digest, the signature and the URL encoding.
func BenchmarkPagePayURL(b *testing.B) {
	c := benchClient(b)
	req := benchPagePayRequest
	if _, err := c.PagePayURL(req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.PagePayURL(req); err != nil {
			b.Fatal(err)
		}
	}
}

// benchNotify returns the trade_success notify of the vectors: the form as
// a web framework has decoded it, and the raw POST body.
func benchNotify(b *testing.B) (url.Values, string) {
	b.Helper()
	var file struct {
		NotifyCases []notifyCase `json:"notify_cases"`
	}
	loadVectors(b, "notify.json", &file)
	for _, tc := range file.NotifyCases {
		if tc.Name == "trade_success" {
			return valuesOf(tc.PostedForm), tc.PostedBody
		}
	}
	b.Fatal("notify.json has no trade_success case")
	return nil, ""
}

// BenchmarkRawRSAVerifyNotify is the baseline of the notify benchmarks: one
// RSASSA-PKCS1-v1_5 verification with Alipay's key of the notify's signature
// over its precomputed digest.
func BenchmarkRawRSAVerifyNotify(b *testing.B) {
	pub := testPublicKey(b, "alipay_public.pem")
	form, _ := benchNotify(b)
	digest := sha256.Sum256([]byte(NotifyStringToSign(form)))
	sig, err := base64.StdEncoding.DecodeString(form.Get("sign"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyNotification verifies and parses a notify from the form
// values a web framework hands over.
func BenchmarkVerifyNotification(b *testing.B) {
	c := benchClient(b)
	form, _ := benchNotify(b)
	if _, err := c.VerifyNotification(form); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.VerifyNotification(form); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseNotification verifies and parses a notify from the
// *http.Request, so it includes net/http's decoding of the form body. The
// request is reused; only its body and parsed form are reset.
func BenchmarkParseNotification(b *testing.B) {
	c := benchClient(b)
	_, body := benchNotify(b)
	r := httptest.NewRequest(http.MethodPost, "/alipay/notify", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var rd strings.Reader
	reset := func() {
		rd.Reset(body)
		r.Body, r.Form, r.PostForm = io.NopCloser(&rd), nil, nil
	}
	reset()
	if _, err := c.ParseNotification(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		reset()
		if _, err := c.ParseNotification(r); err != nil {
			b.Fatal(err)
		}
	}
}

const benchResponseMethod = "alipay.trade.query"

// benchResponse returns the body of the query_success response.
func benchResponse(b *testing.B) []byte {
	b.Helper()
	var file struct{ Cases []responseCase }
	loadVectors(b, "response_verification.json", &file)
	for _, tc := range file.Cases {
		if tc.Name == "query_success" {
			return []byte(tc.ResponseBody)
		}
	}
	b.Fatal("response_verification.json has no query_success case")
	return nil
}

// BenchmarkRawRSAVerifyResponse is the baseline of the response benchmarks:
// one verification with Alipay's key of the response's signature over the
// precomputed digest of its node.
func BenchmarkRawRSAVerifyResponse(b *testing.B) {
	pub := testPublicKey(b, "alipay_public.pem")
	r, err := ParseResponse(benchResponse(b), benchResponseMethod)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256(r.Node)
	sig, err := base64.StdEncoding.DecodeString(r.Sign)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyResponse cuts a response body into its parts and verifies
// the signature over the node's raw bytes.
func BenchmarkVerifyResponse(b *testing.B) {
	pub := testPublicKey(b, "alipay_public.pem")
	body := benchResponse(b)
	if _, err := VerifyResponse(pub, SignTypeRSA2, body, benchResponseMethod); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyResponse(pub, SignTypeRSA2, body, benchResponseMethod); err != nil {
			b.Fatal(err)
		}
	}
}

// benchTradeQuery is the result of alipay.trade.query as a caller declares
// it: the fields of the vector, amounts as Amount, times as Time.
type benchTradeQuery struct {
	TradeNo        string      `json:"trade_no"`
	OutTradeNo     string      `json:"out_trade_no"`
	BuyerLogonID   string      `json:"buyer_logon_id"`
	BuyerUserID    string      `json:"buyer_user_id"`
	TradeStatus    TradeStatus `json:"trade_status"`
	TotalAmount    Amount      `json:"total_amount"`
	ReceiptAmount  Amount      `json:"receipt_amount"`
	InvoiceAmount  Amount      `json:"invoice_amount"`
	BuyerPayAmount Amount      `json:"buyer_pay_amount"`
	PointAmount    Amount      `json:"point_amount"`
	SendPayDate    Time        `json:"send_pay_date"`
}

// BenchmarkDecodeResponse is what Client.Do does with a trade.query answer
// once it has the body: verify, check the status and decode the node into
// a struct.
func BenchmarkDecodeResponse(b *testing.B) {
	c := benchClient(b)
	body := benchResponse(b)
	var out benchTradeQuery
	if err := c.decodeResponse(benchResponseMethod, body, &out); err != nil {
		b.Fatal(err)
	}
	if out.TotalAmount != 1 || out.TradeStatus != TradeStatusSuccess || out.SendPayDate.IsZero() {
		b.Fatalf("decoded %+v", out)
	}
	b.ReportAllocs()
	for b.Loop() {
		out = benchTradeQuery{}
		if err := c.decodeResponse(benchResponseMethod, body, &out); err != nil {
			b.Fatal(err)
		}
	}
}
