package sandbox

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
)

// env is the setup bundle of a test: a test server, its SDK client and the
// app key for hand-made requests.
type env struct {
	t      *testing.T
	ts     *TestServer
	client *alipay.Client
	appKey *rsa.PrivateKey
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ts := NewTestServer(t)
	key, err := alipay.ParsePrivateKey(ts.AppPrivateKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ts: ts, client: ts.Client(), appKey: key}
}

// params returns the public parameters of a request for method.
func (e *env) params(method, biz string) url.Values {
	p := url.Values{
		"app_id":    {e.ts.AppID},
		"method":    {method},
		"charset":   {"utf-8"},
		"sign_type": {"RSA2"},
		"timestamp": {alipay.FormatTime(time.Now())},
		"version":   {"1.0"},
	}
	if biz != "" {
		p.Set("biz_content", biz)
	}
	return p
}

// sign signs p with key (the app key when nil) and sets sign.
func (e *env) sign(p url.Values, key *rsa.PrivateKey) url.Values {
	if key == nil {
		key = e.appKey
	}
	sig, err := alipay.SignRequest(key, alipay.SignTypeRSA2, p)
	if err != nil {
		e.t.Fatal(err)
	}
	p.Set("sign", sig)
	return p
}

// post sends query in the URL and form as the body and returns the
// status and body.
func (e *env) post(query, form string) (int, []byte) {
	e.t.Helper()
	resp, err := e.ts.Server.Client().Post(e.ts.GatewayURL+"?"+query, "application/x-www-form-urlencoded;charset=utf-8", strings.NewReader(form))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, body
}

// answer is a decoded response node and how it came.
type answer struct {
	status int
	body   []byte
	raw    alipay.RawResponse
	node   map[string]any
}

// call posts p (all in the body) for its method and decodes the answer,
// checking that it is HTTP 200, cut-able and, when signed, verifies.
func (e *env) call(p url.Values) answer {
	e.t.Helper()
	status, body := e.post("", p.Encode())
	return e.decode(p.Get("method"), status, body)
}

func (e *env) decode(method string, status int, body []byte) answer {
	e.t.Helper()
	if status != http.StatusOK {
		e.t.Fatalf("HTTP status %d, body %s", status, body)
	}
	raw, err := alipay.VerifyResponse(e.ts.Sandbox.AlipayPublicKey(), alipay.SignTypeRSA2, body, method)
	if err != nil {
		e.t.Fatalf("response does not verify: %v\n%s", err, body)
	}
	var node map[string]any
	if err := json.Unmarshal(raw.Node, &node); err != nil {
		e.t.Fatalf("node: %v\n%s", err, body)
	}
	return answer{status: status, body: body, raw: raw, node: node}
}

// subCode returns the alipay.Error's code and sub code of err.
func subCode(t *testing.T, err error) (string, alipay.SubCode) {
	t.Helper()
	var ae *alipay.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *alipay.Error", err)
	}
	return ae.Code, ae.SubCode
}
