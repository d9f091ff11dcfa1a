package alipay

import (
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The vectors in testdata/ were produced by running Alipay's official Node
// SDK (alipay-sdk 4.14.0) with synthetic keys; testdata/VECTORS.md says how.
// The keys there are test keys, never used for anything real.

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadVectors(t testing.TB, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readTestdata(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func testPrivateKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	k, err := ParsePrivateKey(string(readTestdata(t, "keys/"+name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k
}

func testPublicKey(t testing.TB, name string) *rsa.PublicKey {
	t.Helper()
	k, err := ParsePublicKey(string(readTestdata(t, "keys/"+name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k
}

// requestCase is one entry of request_signing.json.
type requestCase struct {
	Name                  string            `json:"name"`
	Algorithm             string            `json:"algorithm"`
	StringToSign          string            `json:"string_to_sign"`
	JavaStyleStringToSign string            `json:"java_style_string_to_sign"`
	Sign                  string            `json:"sign"`
	Params                map[string]string `json:"params"`
	OutputGetURL          string            `json:"output_get_url"`
	OutputOrderString     string            `json:"output_order_string"`
	HTTPRequest           *struct {
		Method       string `json:"method"`
		PathAndQuery string `json:"path_and_query"`
		ContentType  string `json:"content_type"`
		Body         string `json:"body"`
	} `json:"http_request"`
}

// responseCase is one entry of response_verification.json.
type responseCase struct {
	Name         string `json:"name"`
	Method       string `json:"method"`
	ResponseBody string `json:"response_body"`
	SignSource   string `json:"sign_source"`
	SDKAccepts   bool   `json:"sdk_accepts"`
}

// notifyCase is one entry of notify.json.
type notifyCase struct {
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	SignedFields map[string]string `json:"signed_fields"`
	StringToSign string            `json:"string_to_sign"`
	Sign         string            `json:"sign"`
	PostedForm   map[string]string `json:"posted_form"`
	PostedBody   string            `json:"posted_body_x_www_form_urlencoded"`
	RedirectURL  string            `json:"redirect_url"`
	SDK          struct {
		CheckNotifySignV2 any `json:"checkNotifySignV2"`
	} `json:"sdk"`
}
