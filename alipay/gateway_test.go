package alipay

import (
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// testGateway is a minimal stand-in for Alipay's gateway inside this
// package's tests (the sandbox package cannot be imported here: it imports
// alipay). It verifies each request as the gateway does and answers with
// the node its answer function returns, signed with the vectors' Alipay key.
type testGateway struct {
	t        testing.TB
	srv      *httptest.Server
	appKey   *rsa.PublicKey
	alipay   *rsa.PrivateKey
	certSN   string
	answer   func(method string, biz map[string]any) string
	mu       sync.Mutex
	requests []url.Values
}

func newTestGateway(t testing.TB, answer func(method string, biz map[string]any) string) *testGateway {
	g := &testGateway{
		t:      t,
		appKey: testPublicKey(t, "app_public.pem"),
		alipay: testPrivateKey(t, "alipay_private_pkcs1.pem"),
		answer: answer,
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *testGateway) url() string { return g.srv.URL + "/gateway.do" }

func (g *testGateway) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	params := r.URL.Query()
	for k, vs := range form {
		if _, dup := params[k]; dup {
			g.t.Errorf("parameter %s sent twice", k)
		}
		params[k] = vs
	}
	g.mu.Lock()
	g.requests = append(g.requests, params)
	g.mu.Unlock()
	method := params.Get("method")
	if err := VerifyRequest(g.appKey, params); err != nil {
		g.t.Errorf("request signature: %v", err)
	}
	var biz map[string]any
	if s := params.Get("biz_content"); s != "" && params.Get("encrypt_type") == "" {
		if err := json.Unmarshal([]byte(s), &biz); err != nil {
			g.t.Errorf("biz_content: %v", err)
		}
	}
	node := g.answer(method, biz)
	resp, err := SignResponse(g.alipay, SignTypeRSA2, method, []byte(node), g.certSN)
	if err != nil {
		g.t.Error(err)
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.Write(resp)
}

func (g *testGateway) last() url.Values {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests[len(g.requests)-1]
}

// client returns a key-mode client of the vectors' app that calls g, with
// its clock pinned to the vectors' time.
func (g *testGateway) client() *Client {
	c, err := New(Config{
		AppID:           "2021000000000001",
		PrivateKey:      string(readTestdata(g.t, "keys/app_private_pkcs8.pem")),
		AlipayPublicKey: string(readTestdata(g.t, "keys/alipay_public.pem")),
		Gateway:         g.url(),
		NotifyURL:       "https://merchant.example.com/alipay/notify",
		Now:             func() time.Time { return time.Date(2024, 5, 20, 4, 34, 56, 0, time.UTC) },
	})
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}
