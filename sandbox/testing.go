package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"sync"
	"testing"

	"zhifu/alipay"
)

// TestAppID is the app id of the app NewTestServer registers.
const TestAppID = "2021000000000001"

// TestServer is a sandbox behind an httptest.Server with one app, for
// tests in any package (as httptest is for net/http). Its keys are fresh
// test keys, never used for anything real.
type TestServer struct {
	// Sandbox is the emulator, for its programmatic API (Pay, Advance, …).
	Sandbox *Sandbox
	// Server is the HTTP server; it is closed when the test ends.
	Server *httptest.Server
	// AppID is the registered app's id (TestAppID).
	AppID string
	// AppPrivateKeyPEM is the app's private key (PKCS#8 PEM), for any SDK.
	AppPrivateKeyPEM string
	// AlipayPublicKeyPEM is the sandbox's Alipay public key (SPKI PEM).
	AlipayPublicKeyPEM string
	// GatewayURL is the gateway's URL, ending in /gateway.do.
	GatewayURL string
	t          testing.TB
	mu         sync.Mutex
	events     []Event // not yet returned by Events
}

// NewTestServer starts a sandbox with a new Alipay key and one app
// (TestAppID, a new app key) behind an httptest.Server, closed at the end
// of the test. It fails the test on any error.
func NewTestServer(t testing.TB) *TestServer {
	t.Helper()
	alipayKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ts := &TestServer{AppID: TestAppID, t: t}
	sb, err := New(Config{AlipayPrivateKey: alipayKey, OnEvent: func(e Event) {
		ts.mu.Lock()
		ts.events = append(ts.events, e)
		ts.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.AddApp(App{AppID: TestAppID, AppPublicKey: &appKey.PublicKey}); err != nil {
		t.Fatal(err)
	}
	privPEM, err := alipay.MarshalPrivateKeyPEM(appKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := alipay.MarshalPublicKeyPEM(&alipayKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ts.Sandbox = sb
	ts.Server = httptest.NewServer(sb)
	t.Cleanup(ts.Server.Close)
	ts.AppPrivateKeyPEM, ts.AlipayPublicKeyPEM = string(privPEM), string(pubPEM)
	ts.GatewayURL = ts.Server.URL + "/gateway.do"
	return ts
}

// Client returns a new alipay.Client of the test app, calling the
// sandbox. It fails the test on error.
func (ts *TestServer) Client() *alipay.Client {
	t := ts.t
	t.Helper()
	c, err := alipay.New(alipay.Config{
		AppID:           ts.AppID,
		PrivateKey:      ts.AppPrivateKeyPEM,
		AlipayPublicKey: ts.AlipayPublicKeyPEM,
		Gateway:         ts.GatewayURL,
		HTTPClient:      ts.Server.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Events returns the events emitted since the last call, in order. Events
// of concurrent calls may still be on their way when the calls return.
func (ts *TestServer) Events() []Event {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	evs := ts.events
	ts.events = nil
	return evs
}
