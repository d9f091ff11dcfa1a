package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
)

const queryBiz = `{"out_trade_no":"NOPE_1"}`

func TestGatewayErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(edit func(url.Values)) url.Values {
		p := e.params("alipay.trade.query", queryBiz)
		edit(p)
		return e.sign(p, nil)
	}
	for _, tc := range []struct {
		name    string
		params  url.Values
		code    string
		sub     string
		signed  bool   // answered signed under the method's node
		subMsgs string // a part of sub_msg
	}{
		{"no app_id", signed(func(p url.Values) { p.Del("app_id") }), "40001", "isv.missing-app-id", false, ""},
		{"no method", signed(func(p url.Values) { p.Del("method") }), "40001", "isv.missing-method", false, ""},
		{"unknown method", signed(func(p url.Values) { p.Set("method", "alipay.trade.nope") }), "40002", "isv.invalid-method", false, "不存在的方法名"},
		{"unknown app", signed(func(p url.Values) { p.Set("app_id", "2021000000000999") }), "40002", "isv.invalid-app-id", false, ""},
		{"unsigned", e.params("alipay.trade.query", queryBiz), "40001", "isv.missing-signature", true, ""},
		{"no sign_type", signed(func(p url.Values) { p.Del("sign_type") }), "40001", "isv.missing-signature-type", true, ""},
		{"no timestamp", signed(func(p url.Values) { p.Del("timestamp") }), "40001", "isv.missing-timestamp", true, ""},
		{"no version", signed(func(p url.Values) { p.Del("version") }), "40001", "isv.missing-version", true, ""},
		{"GBK", signed(func(p url.Values) { p.Set("charset", "GBK") }), "40002", "isv.invalid-charset", true, ""},
		{"MD5", signed(func(p url.Values) { p.Set("sign_type", "MD5") }), "40002", "isv.invalid-signature-type", true, ""},
		{"bad timestamp", signed(func(p url.Values) { p.Set("timestamp", "2024/05/20 12:00:00") }), "40002", "isv.invalid-timestamp", true, ""},
		{"UTC timestamp", signed(func(p url.Values) { p.Set("timestamp", time.Now().UTC().Format(time.DateTime)) }), "40002", "isv.invalid-timestamp", true, ""},
		{"version 2.0", signed(func(p url.Values) { p.Set("version", "2.0") }), "40002", "isv.invalid-version", true, ""},
		{"XML", signed(func(p url.Values) { p.Set("format", "xml") }), "40002", "isv.invalid-format", true, ""},
		{"bad notify_url", signed(func(p url.Values) { p.Set("notify_url", "ftp://x") }), "40002", "isv.invalid-parameter", true, "notify_url"},
		{"tampered", func() url.Values {
			p := e.sign(e.params("alipay.trade.query", queryBiz), nil)
			p.Set("biz_content", `{"out_trade_no":"NOPE_2"}`)
			return p
		}(), "40002", "isv.invalid-signature", true, "&amp;biz_content={\"out_trade_no\":\"NOPE_2\"}&amp;charset=utf-8"},
		{"wrong key", e.sign(e.params("alipay.trade.query", queryBiz), otherKey), "40002", "isv.invalid-signature", true,
			"网关生成的验签字符串为：app_id=" + TestAppID + "&amp;biz_content=" + queryBiz + "&amp;charset=utf-8&amp;method=alipay.trade.query&amp;sign_type=RSA2"},
		{"garbage biz_content", signed(func(p url.Values) { p.Set("biz_content", "{not json") }), "40004", "ACQ.INVALID_PARAMETER", true, "biz_content"},
		{"biz_content array", signed(func(p url.Values) { p.Set("biz_content", "[1]") }), "40004", "ACQ.INVALID_PARAMETER", true, "biz_content"},
		{"no biz_content", signed(func(p url.Values) { p.Del("biz_content") }), "40004", "ACQ.INVALID_PARAMETER", true, ""},
		{"AES without key", signed(func(p url.Values) { p.Set("encrypt_type", "AES") }), "40002", "isv.decryption-error-not-valid-encrypt-key", true, ""},
		{"not found", signed(func(url.Values) {}), "40004", "ACQ.TRADE_NOT_EXIST", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := e.call(tc.params)
			if a.node["code"] != tc.code || a.node["sub_code"] != tc.sub {
				t.Fatalf("code %v sub_code %v, want %s %s\n%s", a.node["code"], a.node["sub_code"], tc.code, tc.sub, a.body)
			}
			if tc.signed == a.raw.ErrorNode || tc.signed != (a.raw.Sign != "") {
				t.Errorf("signed %v, error_response %v; want signed %v\n%s", a.raw.Sign != "", a.raw.ErrorNode, tc.signed, a.body)
			}
			if msg, _ := a.node["sub_msg"].(string); !strings.Contains(msg, tc.subMsgs) {
				t.Errorf("sub_msg %q does not contain %q", msg, tc.subMsgs)
			}
		})
	}
}

// Through the SDK, a request signed with another key than the app's is
// isv.invalid-signature, signed, with the gateway's string to sign.
func TestGatewayInvalidSignatureThroughSDK(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := newEnv(t) // another app key under the same app id
	c, err := alipay.New(alipay.Config{
		AppID: TestAppID, PrivateKey: other.ts.AppPrivateKeyPEM, AlipayPublicKey: e.ts.AlipayPublicKeyPEM,
		Gateway: e.ts.GatewayURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "X"})
	var ae *alipay.Error
	if !errors.As(err, &ae) || ae.SubCode != alipay.SubCodeInvalidSignature || !ae.Signed ||
		!strings.Contains(ae.SubMsg, "&amp;method=alipay.trade.query&amp;") {
		t.Fatalf("err %v", err)
	}
}

func TestGatewayDuplicateParameter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.sign(e.params("alipay.trade.query", queryBiz), nil)
	// The same key in the query and in the body.
	_, body := e.post("method=alipay.trade.query", p.Encode())
	a := e.decode("alipay.trade.query", http.StatusOK, body)
	if a.node["sub_code"] != "isv.suspected-attack" || a.raw.Sign == "" {
		t.Errorf("query+body: %s", body)
	}
	// Twice in the body.
	_, body = e.post("", p.Encode()+"&biz_content=%7B%7D")
	if a := e.decode("alipay.trade.query", http.StatusOK, body); a.node["sub_code"] != "isv.suspected-attack" {
		t.Errorf("body twice: %s", body)
	}
}

func TestGatewayQueryAndBodyMerge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.sign(e.params("alipay.trade.query", queryBiz), nil)
	form := url.Values{"biz_content": {p.Get("biz_content")}}
	p.Del("biz_content")
	// GET with everything in the query, and POST split like the Java SDK.
	resp, err := e.ts.Server.Client().Get(e.ts.GatewayURL + "?" + p.Encode() + "&" + form.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, body := e.post(p.Encode(), form.Encode())
	if a := e.decode("alipay.trade.query", http.StatusOK, body); a.node["sub_code"] != "ACQ.TRADE_NOT_EXIST" {
		t.Errorf("split request: %s", body)
	}
}

func TestGatewayOversizeBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.sign(e.params("alipay.trade.query", queryBiz), nil)
	status, body := e.post("", p.Encode()+"&pad="+strings.Repeat("a", maxBodyBytes))
	a := e.decode("alipay.trade.query", status, body)
	if a.node["code"] != "40002" || a.node["sub_code"] != "isv.invalid-parameter" || !a.raw.ErrorNode {
		t.Errorf("%s", body)
	}
}

// The answer escapes "/" as "\/" on the wire, and the SDK still verifies
// it (over the escaped bytes).
func TestResponseEscapesSlashes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.sign(e.params("alipay.trade.precreate", `{"out_trade_no":"S1","total_amount":"1.00","subject":"a/b"}`), nil)
	a := e.call(p)
	if !bytes.Contains(a.body, []byte(`"qr_code":"http:\/\/127.0.0.1`)) || bytes.Contains(a.raw.Node, []byte("a/b")) {
		t.Fatalf("slashes not escaped: %s", a.body)
	}
	if err := alipay.Verify(e.ts.Sandbox.AlipayPublicKey(), alipay.SignTypeRSA2, a.raw.Node, a.raw.Sign); err != nil {
		t.Errorf("the signature does not cover the escaped bytes: %v", err)
	}
	resp, err := e.client.TradePrecreate(ctx, alipay.TradePrecreateRequest{OutTradeNo: "S2", TotalAmount: 100, Subject: "x"})
	if err != nil || !strings.HasPrefix(resp.QRCode, "http://") {
		t.Fatalf("%v %+v", err, resp)
	}
}

func TestGatewayPanicIsSystemError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ts.Sandbox.method["alipay.trade.query"] = &methodSpec{api: func(*Sandbox, *call) *reply { panic("boom") }}
	status, body := e.post("", e.sign(e.params("alipay.trade.query", queryBiz), nil).Encode())
	a := e.decode("alipay.trade.query", status, body)
	if a.node["code"] != "20000" || !a.raw.ErrorNode {
		t.Errorf("%s", body)
	}
}

// The hooks around every method: what phase 3's faults use.
func TestCallHooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ts.Sandbox.hooks = callHooks{
		before: func(c *call) *reply {
			if c.method == "alipay.trade.close" {
				return bizError(alipay.SubCodeSystemError, "系统错误")
			}
			return nil
		},
		after: func(c *call, r *reply) *reply {
			if c.method == "alipay.trade.create" {
				return bizError(alipay.SubCodeSystemError, "系统错误")
			}
			return r
		},
	}
	_, err := e.client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "H1", TotalAmount: 1, Subject: "x", BuyerID: "2088102177846880"})
	if !alipay.IsUnknown(err) {
		t.Fatalf("create: %v", err)
	}
	if _, ok := e.ts.Sandbox.Trade(TestAppID, "H1"); !ok {
		t.Fatal("the create took effect before its answer was replaced")
	}
	if _, err := e.client.TradeClose(ctx, alipay.TradeCloseRequest{OutTradeNo: "H1"}); !alipay.IsUnknown(err) {
		t.Fatalf("close: %v", err)
	}
	if s, _ := e.ts.Sandbox.Trade(TestAppID, "H1"); s.Status != alipay.TradeStatusWaitBuyerPay {
		t.Errorf("close ran despite the before hook: %s", s.Status)
	}
}
