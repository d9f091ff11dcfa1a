package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net"
	"net/http"
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
// (TestAppID, a new app key) behind an httptest.Server, closed and
// stopped at the end of the test. It fails the test on any error.
//
// Its notifies go only to loopback addresses (such as an httptest.Server's):
// a test must not reach the network, so a notify_url elsewhere fails every
// delivery, with the reason recorded on the attempt.
func NewTestServer(t testing.TB) *TestServer {
	t.Helper()
	return newTestServer(t, Config{})
}

// NewTestServerConfig is NewTestServer with cfg: its Now (a test's
// clock, which clients must then follow for their request timestamps),
// notify schedule and the like. Its AlipayPrivateKey and OnEvent are the
// test server's own.
func NewTestServerConfig(t testing.TB, cfg Config) *TestServer {
	t.Helper()
	return newTestServer(t, cfg)
}

// NewTestServerKeys is NewTestServerConfig with the given keys instead of
// new ones: the sandbox signs with alipayKey, and its app's key is
// appKey's public half. For benchmarks and tests that start many test
// servers, with TestKeys, or that need the keys themselves.
func NewTestServerKeys(t testing.TB, cfg Config, alipayKey, appKey *rsa.PrivateKey) *TestServer {
	t.Helper()
	return newTestServerKeys(t, cfg, alipayKey, appKey)
}

// testKeys are TestKeys' keys, made on first use.
var testKeys = sync.OnceValues(func() (alipayKey, appKey *rsa.PrivateKey) {
	return mustTestKey(), mustTestKey()
})

// TestKeys returns an Alipay key and an app key made once per process:
// fresh 2048-bit test keys, never used for anything real, for
// NewTestServerKeys where a key generation (up to a second) per test
// server is too slow.
func TestKeys() (alipayKey, appKey *rsa.PrivateKey) { return testKeys() }

// mustTestKey returns a new 2048-bit key, or panics (the system's random
// source failed).
func mustTestKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("sandbox: generating a test key: %v", err))
	}
	return k
}

// newTestServer is NewTestServer with cfg (its keys and OnEvent are set).
func newTestServer(t testing.TB, cfg Config) *TestServer {
	t.Helper()
	alipayKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return newTestServerKeys(t, cfg, alipayKey, appKey)
}

// newTestServerKeys is NewTestServerKeys.
func newTestServerKeys(t testing.TB, cfg Config, alipayKey, appKey *rsa.PrivateKey) *TestServer {
	t.Helper()
	ts := &TestServer{AppID: TestAppID, t: t}
	cfg.AlipayPrivateKey = alipayKey
	cfg.OnEvent = func(e Event) {
		ts.mu.Lock()
		ts.events = append(ts.events, e)
		ts.mu.Unlock()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: notifyTransport(loopbackTransport(), cfg.NotifyWorkers)}
	}
	sb, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Stop() })
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
	t.Cleanup(ts.Server.Close) // before sb.Stop: cleanups run last first
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

// loopbackTransport returns a transport that connects only to loopback
// addresses, resolving no names but "localhost".
func loopbackTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	var d net.Dialer
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("sandbox: the test server sends notifies only to loopback addresses, not to %s", host)
		}
		return d.DialContext(ctx, network, addr)
	}
	return tr
}
