package sandbox

import (
	"bytes"
	"encoding/base64"
	"testing"

	"zhifu/alipay"
)

// An encrypted request gets an encrypted answer, which the SDK decrypts
// after checking its signature over the quoted token.
func TestAESContentEncryption(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	const appID = "2021000000000002"
	if err := e.ts.Sandbox.AddApp(App{AppID: appID, AppPublicKey: &e.appKey.PublicKey, EncryptKey: key}); err != nil {
		t.Fatal(err)
	}
	c, err := alipay.New(alipay.Config{AppID: appID, PrivateKey: e.ts.AppPrivateKeyPEM, AlipayPublicKey: e.ts.AlipayPublicKeyPEM,
		Gateway: e.ts.GatewayURL, EncryptKey: key})
	if err != nil {
		t.Fatal(err)
	}
	var resp alipay.TradeCreateResponse
	err = c.Do(ctx, &alipay.Request{Method: "alipay.trade.create", Encrypt: true,
		BizContent: `{"out_trade_no":"AES_1","total_amount":"1.00","subject":"x","buyer_id":"2088102177846880"}`}, &resp)
	if err != nil || resp.TradeNo == "" {
		t.Fatalf("%v %+v", err, resp)
	}
	if _, ok := e.ts.Sandbox.Trade(appID, "AES_1"); !ok {
		t.Fatal("no trade")
	}
	// On the wire the node is a string.
	p := e.params("alipay.trade.query", "")
	p.Set("app_id", appID)
	ct, _ := alipay.EncryptContent([]byte("0123456789abcdef"), []byte(`{"out_trade_no":"AES_1"}`))
	p.Set("biz_content", ct)
	p.Set("encrypt_type", "AES")
	_, body := e.post("", e.sign(p, nil).Encode())
	if !bytes.HasPrefix(body, []byte(`{"alipay_trade_query_response":"`)) {
		t.Errorf("not encrypted: %s", body)
	}
	// A ciphertext that does not decrypt.
	p.Set("biz_content", "bm90IGNpcGhlcnRleHQ=")
	a := e.call(e.sign(p, nil))
	if a.node["code"] != "40003" || a.node["sub_code"] != "isv.decryption-error-unknown" {
		t.Errorf("%s", a.body)
	}
}
