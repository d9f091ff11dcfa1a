package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"zhifu/alipay"
	"zhifu/internal/httpapi"
	"zhifu/internal/testpg"
	"zhifu/payment"
	"zhifu/payment/postgresstore"
	"zhifu/payment/sqlitestore"
	"zhifu/sandbox"
)

// TestMain checks that no test leaves goroutines behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// apiStore is what the API needs of a store: both stores are all of it.
type apiStore interface {
	payment.Store
	payment.APIKeyStore
	payment.IdempotencyStore
}

// stores returns the stores every test and benchmark runs on: SQLite in a
// temporary directory (WAL, every commit fsynced), and PostgreSQL in a
// schema of its own (skipped when no server answers, failed then with
// ZHIFU_REQUIRE_POSTGRES=1).
func stores() []struct {
	name string
	open func(t testing.TB) apiStore
} {
	return []struct {
		name string
		open func(t testing.TB) apiStore
	}{
		{"sqlite", func(t testing.TB) apiStore {
			s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "zhifu.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
		{"postgres", func(t testing.TB) apiStore {
			_, dsn := testpg.Schema(t)
			s, err := postgresstore.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
	}
}

// onStores runs fn on every store, in parallel.
func onStores(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Parallel()
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, st.open(t)))
		})
	}
}

// env is the API on a store, over real HTTP, with a Service calling the
// sandbox and the sandbox's notifies coming back to the same server.
type env struct {
	t       *testing.T
	ts      *sandbox.TestServer
	sb      *sandbox.Sandbox
	store   apiStore
	metrics *httpapi.Metrics
	secret  string // a valid API key
	keyID   string
	logs    *syncBuffer
	client  *http.Client
	// serviceEnv is the server and the Service, with its webhooks for an
	// env made by newHookEnv.
	*serviceEnv
}

// syncBuffer is a bytes.Buffer safe for concurrent writes: the log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newEnv makes an env on store; tune, if given, changes the API's Config.
func newEnv(t *testing.T, store apiStore, tune ...func(*httpapi.Config)) *env {
	t.Helper()
	return newEnvWith(t, store, nil, tune...)
}

// newHookEnv makes an env on store whose Service sends webhooks to rcv,
// with its jobs started, and whose API lists and resends them.
func newHookEnv(t *testing.T, store apiStore, rcv *hookReceiver) *env {
	t.Helper()
	return newEnvWith(t, store, rcv)
}

// newEnvWith makes an env on store, with webhooks to rcv unless it is
// nil; tune, if given, changes the API's Config.
func newEnvWith(t *testing.T, store apiStore, rcv *hookReceiver, tune ...func(*httpapi.Config)) *env {
	t.Helper()
	e := &env{t: t, ts: sandbox.NewTestServer(t), store: store, logs: &syncBuffer{}}
	e.sb = e.ts.Sandbox
	e.metrics = httpapi.NewMetrics(httpapi.MetricsConfig{
		QueueDepth:        func(context.Context) (map[string]int, error) { return map[string]int{"available": 3}, nil },
		StoreTransactions: store.(interface{ Commits() int64 }).Commits,
	})
	// The sandbox app's client, its transport measured as the wiring
	// does it.
	ali, err := alipay.New(alipay.Config{
		AppID: e.ts.AppID, PrivateKey: e.ts.AppPrivateKeyPEM, AlipayPublicKey: e.ts.AlipayPublicKeyPEM,
		Gateway: e.ts.GatewayURL, HTTPClient: &http.Client{Transport: e.metrics.RoundTripper(e.ts.Server.Client().Transport)},
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.serviceEnv = newServiceEnv(t, payment.Config{
		Store: store, Alipay: ali, Logger: log, Observer: e.metrics, OnChange: e.metrics.OnChange,
	}, serviceWebhooks{rcv: rcv})
	cfg := httpapi.Config{
		Service: e.svc, Store: store, Keys: store, Idempotency: store, Metrics: e.metrics, Logger: log,
	}
	if e.hooks != nil {
		cfg.Webhooks = e.hooks.w
	}
	for _, f := range tune {
		f(&cfg)
	}
	h, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.mux.Handle("/", h)
	e.secret, e.keyID = e.newKey("test key")
	e.client = e.srv.Client()
	t.Cleanup(func() {
		if strings.Contains(e.logs.String(), e.secret) {
			t.Error("an API key secret appears in the log")
		}
		if strings.Contains(e.logs.String(), hookSecret) {
			t.Error("the webhook secret appears in the log")
		}
		if t.Failed() {
			t.Logf("log:\n%s", e.logs.String())
		}
	})
	return e
}

// newKey stores a new API key and returns its secret and id.
func (e *env) newKey(name string) (string, string) {
	e.t.Helper()
	secret, k, err := payment.NewAPIKey(name)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.CreateAPIKey(context.Background(), &k); err != nil {
		e.t.Fatal(err)
	}
	return secret, k.ID
}

// answer is an API answer.
type answer struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

// errCode returns the error code of an error answer, or "".
func (a answer) errCode() string {
	if m, ok := a.json["error"].(map[string]any); ok {
		s, _ := m["code"].(string)
		return s
	}
	return ""
}

// errField returns the field of an error answer, or "".
func (a answer) errField() string {
	if m, ok := a.json["error"].(map[string]any); ok {
		s, _ := m["field"].(string)
		return s
	}
	return ""
}

// str returns a string field of the answer.
func (a answer) str(name string) string {
	s, _ := a.json[name].(string)
	return s
}

// req is a request to send.
type req struct {
	method, path string
	body         string
	headers      map[string]string // "" value: remove the header
	idemKey      string            // default for a POST: a new one
}

// do sends r with the env's API key and returns the answer.
func (e *env) do(r req) answer {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+e.secret)
	if r.method == http.MethodPost {
		hr.Header.Set("Content-Type", "application/json")
		if r.idemKey == "" {
			r.idemKey = fmt.Sprintf("k-%d", time.Now().UnixNano())
		}
		hr.Header.Set("Idempotency-Key", r.idemKey)
	}
	for k, v := range r.headers {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	resp, err := e.client.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	if a.raw, err = io.ReadAll(resp.Body); err != nil {
		e.t.Fatal(err)
	}
	if len(a.raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(a.raw, &a.json); err != nil {
			e.t.Fatalf("%s %s: the answer is not a JSON object: %v\n%s", r.method, r.path, err, a.raw)
		}
	}
	return a
}

// want fails the test unless a has the status (and the error code, if
// not "").
func (e *env) want(a answer, status int, code string) {
	e.t.Helper()
	if a.status != status || a.errCode() != code {
		e.t.Fatalf("answer %d %q, want %d %q:\n%s", a.status, a.errCode(), status, code, a.raw)
	}
}

// create creates a payment through the API and returns its object.
func (e *env) create(body string) answer {
	e.t.Helper()
	a := e.do(req{method: "POST", path: "/v1/payments", body: body})
	e.want(a, http.StatusCreated, "")
	return a
}

// countOrders returns how many orders the store holds.
func (e *env) countOrders() int {
	e.t.Helper()
	p, err := e.store.ListOrders(context.Background(), payment.OrderFilter{Limit: payment.MaxPageSize})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(p.Orders)
}

// countRefunds returns how many refunds the order has.
func (e *env) countRefunds(orderID string) int {
	e.t.Helper()
	rs, err := e.store.ListRefunds(context.Background(), orderID)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(rs)
}

// pay pays the precreate or page payment in the sandbox, as the buyer,
// and waits for the notify to be delivered.
func (e *env) pay(outTradeNo string) {
	e.t.Helper()
	if err := e.sb.Pay(e.ts.AppID, outTradeNo); err != nil {
		e.t.Fatalf("sandbox Pay: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.sb.DeliverDue(ctx); err != nil {
		e.t.Fatalf("DeliverDue: %v", err)
	}
}
