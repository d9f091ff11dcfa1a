package alipay

import (
	"context"
	"net/url"
	"testing"
)

// TestDoMatchesOfficialSDK sends the vectors' API calls through Do with the
// clock pinned and compares what went on the wire with what the official
// SDK sent: the same parameters and the same signature, byte for byte.
func TestDoMatchesOfficialSDK(t *testing.T) {
	t.Parallel()
	var file struct{ Cases []requestCase }
	loadVectors(t, "request_signing.json", &file)
	var aes struct {
		KeyBase64 string `json:"key_base64"`
		Request   struct {
			Plaintext string            `json:"biz_content_plaintext"`
			Sign      string            `json:"sign"`
			Params    map[string]string `json:"params"`
		} `json:"request"`
		Response struct {
			Body string `json:"body_signed_over_quoted_token"`
		} `json:"response"`
	}
	loadVectors(t, "aes.json", &aes)

	var query requestCase
	for _, tc := range file.Cases {
		if tc.Name == "trade_query_exec_http" {
			query = tc
		}
	}
	g := newTestGateway(t, func(string, map[string]any) string {
		return `{"code":"10000","msg":"Success"}`
	})
	c := g.client()
	c.notifyURL = "" // the vector has none
	if err := c.Do(context.Background(), &Request{Method: "alipay.trade.query", BizContent: query.Params["biz_content"]}, nil); err != nil {
		t.Fatal(err)
	}
	sameParams(t, g.last(), query.Params)

	c.aesKey, _ = ParseAESKey(aes.KeyBase64)
	if err := c.Do(context.Background(), &Request{Method: "alipay.trade.query", BizContent: aes.Request.Plaintext, Encrypt: true}, nil); err != nil {
		t.Fatal(err)
	}
	sameParams(t, g.last(), aes.Request.Params)

	// An encrypted answer is verified over its quoted ciphertext, then
	// decrypted and decoded.
	var out struct {
		TotalAmount Amount      `json:"total_amount"`
		TradeStatus TradeStatus `json:"trade_status"`
	}
	if err := c.decodeResponse("alipay.trade.query", []byte(aes.Response.Body), &out); err != nil {
		t.Fatal(err)
	}
	if out.TotalAmount != 1 || out.TradeStatus != TradeStatusSuccess {
		t.Fatalf("%+v", out)
	}
}

func sameParams(t *testing.T, got url.Values, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("sent %d parameters, the official SDK %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s: sent %q, the official SDK %q", k, got.Get(k), v)
		}
	}
}
