package alipay

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestResponseVectors verifies every response the vectors hold: accepted
// exactly when the official SDK accepted it, and the extracted node equal to
// what was signed.
func TestResponseVectors(t *testing.T) {
	var file struct{ Cases []responseCase }
	loadVectors(t, "response_verification.json", &file)
	pub := testPublicKey(t, "alipay_public.pem")
	for _, tc := range file.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			r, err := VerifyResponse(pub, SignTypeRSA2, []byte(tc.ResponseBody), tc.Method)
			if tc.SDKAccepts != (err == nil) {
				t.Fatalf("accepted = %v, official SDK accepted = %v (err %v)", err == nil, tc.SDKAccepts, err)
			}
			if err != nil {
				if !errors.Is(err, ErrSignature) {
					t.Fatalf("rejection is not ErrSignature: %v", err)
				}
				return
			}
			if tc.SignSource != "" && string(r.Node) != tc.SignSource {
				t.Fatalf("node\n got %s\nwant %s", r.Node, tc.SignSource)
			}
		})
	}
}

func TestParseResponseShapes(t *testing.T) {
	t.Parallel()
	const m = "alipay.trade.query"
	for _, tc := range []struct {
		name, body string
		node, sign string
		errNode    bool
		wantErr    bool
	}{
		{name: "plain", body: `{"alipay_trade_query_response":{"code":"10000"},"sign":"abc"}`, node: `{"code":"10000"}`, sign: "abc"},
		{name: "spaces", body: " {\n \"alipay_trade_query_response\" : {\"a\":[1,{\"b\":\"}\"}]} , \"sign\" : \"a\\/b\" }\n", node: `{"a":[1,{"b":"}"}]}`, sign: "a/b"},
		{name: "sign first", body: `{"sign":"s","alipay_trade_query_response":{"x":"\"{"}}`, node: `{"x":"\"{"}`, sign: "s"},
		{name: "error node", body: `{"error_response":{"code":"40002"}}`, node: `{"code":"40002"}`, errNode: true},
		{name: "method node wins", body: `{"error_response":{"code":"1"},"alipay_trade_query_response":{"code":"2"},"sign":"s"}`, node: `{"code":"2"}`, sign: "s"},
		{name: "encrypted", body: `{"alipay_trade_query_response":"QUJD","sign":"s"}`, node: `"QUJD"`, sign: "s"},
		{name: "node twice", body: `{"alipay_trade_query_response":{"code":"10000"},"alipay_trade_query_response":{"code":"10000"},"sign":"s"}`, wantErr: true},
		{name: "sign twice", body: `{"alipay_trade_query_response":{},"sign":"a","sign":"b"}`, wantErr: true},
		{name: "no node", body: `{"other_response":{},"sign":"a"}`, wantErr: true},
		{name: "node in a string", body: `{"x":"\"alipay_trade_query_response\":{}","sign":"a"}`, wantErr: true},
		{name: "not an object", body: `[]`, wantErr: true},
		{name: "empty", body: ``, wantErr: true},
		{name: "trailing data", body: `{"alipay_trade_query_response":{}}x`, wantErr: true},
		{name: "unterminated", body: `{"alipay_trade_query_response":{"a":"b}`, wantErr: true},
		{name: "node is a number", body: `{"alipay_trade_query_response":1}`, wantErr: true},
		{name: "deep", body: `{"alipay_trade_query_response":` + strings.Repeat("[", 100000) + `}`, wantErr: true},
		{name: "html", body: `<html>502 Bad Gateway</html>`, wantErr: true},
	} {
		r, err := ParseResponse([]byte(tc.body), m)
		if tc.wantErr {
			if !errors.Is(err, ErrResponse) {
				t.Errorf("%s: err = %v, want ErrResponse", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(r.Node) != tc.node || r.Sign != tc.sign || r.ErrorNode != tc.errNode {
			t.Errorf("%s: got node %s sign %q errNode %v", tc.name, r.Node, r.Sign, r.ErrorNode)
		}
	}
}

// TestSignResponseRoundTrip: what SignResponse builds, VerifyResponse
// accepts, in both modes; a byte changed anywhere in the node is refused.
func TestSignResponseRoundTrip(t *testing.T) {
	t.Parallel()
	priv := testPrivateKey(t, "alipay_private_pkcs1.pem")
	pub := testPublicKey(t, "alipay_public.pem")
	node := []byte(`{"code":"10000","msg":"Success","qr_code":"https:\/\/qr.alipay.com\/x"}`)
	for _, sn := range []string{"", "1f6eea578e7dc9555ec60965356f4506"} {
		body, err := SignResponse(priv, SignTypeRSA2, "alipay.trade.precreate", node, sn)
		if err != nil {
			t.Fatal(err)
		}
		r, err := VerifyResponse(pub, SignTypeRSA2, body, "alipay.trade.precreate")
		if err != nil {
			t.Fatalf("sn %q: %v", sn, err)
		}
		if !bytes.Equal(r.Node, node) || r.AlipayCertSN != sn {
			t.Fatalf("sn %q: got %+v", sn, r)
		}
		for i := range node {
			bad := bytes.Clone(body)
			j := bytes.Index(bad, node) + i
			bad[j] ^= 0x01
			if _, err := VerifyResponse(pub, SignTypeRSA2, bad, "alipay.trade.precreate"); err == nil {
				t.Fatalf("byte %d of the node flipped and still verified", i)
			}
		}
	}
}

// TestVerifyUnescapedSlashRetry: Alipay has at times signed the text with
// "/" unescaped and sent it with "\/"; the Java SDK retries without the
// escapes, and so do we.
func TestVerifyUnescapedSlashRetry(t *testing.T) {
	t.Parallel()
	priv := testPrivateKey(t, "alipay_private_pkcs1.pem")
	pub := testPublicKey(t, "alipay_public.pem")
	signedText := []byte(`{"code":"10000","qr_code":"https://qr.alipay.com/x"}`)
	sign, err := Sign(priv, SignTypeRSA2, signedText)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"alipay_trade_precreate_response":{"code":"10000","qr_code":"https:\/\/qr.alipay.com\/x"},"sign":"` + sign + `"}`
	if _, err := VerifyResponse(pub, SignTypeRSA2, []byte(body), "alipay.trade.precreate"); err != nil {
		t.Fatal(err)
	}
}

func TestResponseNodeKey(t *testing.T) {
	t.Parallel()
	if got := ResponseNodeKey("alipay.data.dataservice.bill.downloadurl.query"); got != "alipay_data_dataservice_bill_downloadurl_query_response" {
		t.Fatal(got)
	}
}

func FuzzParseResponse(f *testing.F) {
	var file struct{ Cases []responseCase }
	loadVectors(f, "response_verification.json", &file)
	for _, tc := range file.Cases {
		f.Add([]byte(tc.ResponseBody), tc.Method)
	}
	f.Add([]byte(`{"error_response":{"code":"40002"}}`), "alipay.trade.query")
	pub := testPublicKey(f, "alipay_public.pem")
	f.Fuzz(func(t *testing.T, body []byte, method string) {
		r, err := ParseResponse(body, method)
		if err != nil {
			return
		}
		// The node is a slice of the body, never a rewrite of it.
		if !bytes.Contains(body, r.Node) {
			t.Fatalf("node %q is not in the body", r.Node)
		}
		_, _ = scanStatus(r.Node)
		_, _ = VerifyResponse(pub, SignTypeRSA2, body, method)
	})
}
