package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/internal/httpapi"
	"zhifu/internal/testclock"
	"zhifu/internal/testpg"
	"zhifu/payment"
	"zhifu/payment/postgresstore"
	"zhifu/payment/sqlitestore"
	"zhifu/sandbox"
)

// adminTestPassword is the operator's password of every test.
const adminTestPassword = "correct horse battery staple"

// adminEnv is a payment Service on a store with the sandbox as Alipay,
// its notify handler and the admin pages on one httptest server, and a
// browser-like client (cookies, no redirects followed).
type adminEnv struct {
	t      testing.TB
	ts     *sandbox.TestServer
	sb     *sandbox.Sandbox
	store  payment.Store
	admin  httpapi.AdminConfig
	clock  *testclock.Clock
	logs   *syncBuffer
	client *http.Client
	// serviceEnv is the server and the Service, with its webhooks with
	// adminEnvOptions.webhooks.
	*serviceEnv
}

// adminEnvOptions change an adminEnv.
type adminEnvOptions struct {
	// sellerID overrides the Service's SellerID ("": the sandbox app's).
	sellerID string
	// edit changes the admin configuration before NewAdmin.
	edit func(*httpapi.AdminConfig)
	// webhooks, when set, has the Service send webhooks to this receiver,
	// with its jobs started, and the pages show and resend them.
	webhooks *hookReceiver
	// webhooksQueued, with webhooks, leaves the webhook jobs stopped: an
	// event is recorded and its first delivery stays queued.
	webhooksQueued bool
}

// adminOpenSQLite opens a store on a new SQLite file.
func adminOpenSQLite(t testing.TB) payment.Store {
	t.Helper()
	return adminOpenSQLiteShared(t, 1)[0]
}

// adminOpenSQLiteShared opens n stores on one new SQLite file, as n
// processes on one machine would.
func adminOpenSQLiteShared(t testing.TB, n int) []payment.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "zhifu.db")
	out := make([]payment.Store, n)
	for i := range out {
		s, err := sqlitestore.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

// adminOpenPostgres opens a store in a new PostgreSQL schema of the
// test's own, dropped when it ends (or skips the test without a server).
func adminOpenPostgres(t testing.TB) payment.Store {
	t.Helper()
	return adminOpenPostgresShared(t, 1)[0]
}

// adminOpenPostgresShared opens n stores on one new PostgreSQL schema, as
// n instances of a deployment would.
func adminOpenPostgresShared(t testing.TB, n int) []payment.Store {
	t.Helper()
	_, dsn := testpg.Schema(t)
	out := make([]payment.Store, n)
	for i := range out {
		s, err := postgresstore.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

// adminNewEnv starts an adminEnv on the store, logged out.
func adminNewEnv(t testing.TB, store payment.Store, opts adminEnvOptions) *adminEnv {
	t.Helper()
	e := &adminEnv{t: t, ts: sandbox.NewTestServer(t), store: store, clock: testclock.New(time.Now()), logs: &syncBuffer{}}
	e.sb = e.ts.Sandbox
	app, _ := e.sb.App(e.ts.AppID)
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := payment.Config{Store: store, Alipay: e.ts.Client(), SellerID: app.SellerID, Logger: logger}
	if opts.sellerID != "" {
		cfg.SellerID = opts.sellerID
	}
	e.serviceEnv = newServiceEnv(t, cfg, serviceWebhooks{rcv: opts.webhooks, queued: opts.webhooksQueued})
	e.admin = httpapi.AdminConfig{Service: e.svc, Store: store, Password: adminTestPassword, Logger: logger, Now: e.clock.Now}
	if e.hooks != nil {
		e.admin.Webhooks = httpapi.AdminWebhooksOf(e.hooks.w)
	}
	if opts.edit != nil {
		opts.edit(&e.admin)
	}
	h, err := httpapi.NewAdmin(e.admin)
	if err != nil {
		t.Fatal(err)
	}
	e.mux.Handle("/admin/", h)
	e.client = e.newClient()
	return e
}

// newClient returns a client with its own cookies that follows no
// redirect.
func (e *adminEnv) newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Transport:     e.srv.Client().Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ctx returns a context for one step of a test.
func (e *adminEnv) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// adminResponse is an answer of the admin pages.
type adminResponse struct {
	status   int
	body     string
	location string
	header   http.Header
}

// do sends req with c and reads the answer.
func (e *adminEnv) do(c *http.Client, req *http.Request) adminResponse {
	e.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return adminResponse{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location"), header: resp.Header}
}

// get fetches path with the env's client.
func (e *adminEnv) get(path string) adminResponse {
	e.t.Helper()
	return e.getWith(e.client, path)
}

func (e *adminEnv) getWith(c *http.Client, path string) adminResponse {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(c, req)
}

// post posts the form to path with the env's client, from the pages'
// own origin.
func (e *adminEnv) post(path string, form url.Values) adminResponse {
	e.t.Helper()
	return e.postWith(e.client, path, form, http.Header{"Origin": {e.srv.URL}})
}

func (e *adminEnv) postWith(c *http.Client, path string, form url.Values, h http.Header) adminResponse {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range h {
		req.Header[k] = v
	}
	return e.do(c, req)
}

// login logs the client in, failing the test otherwise.
func (e *adminEnv) login(c *http.Client) {
	e.t.Helper()
	r := e.postWith(c, "/admin/login", url.Values{"password": {adminTestPassword}}, http.Header{"Origin": {e.srv.URL}})
	if r.status != http.StatusSeeOther || r.location != "/admin/orders" {
		e.t.Fatalf("login answered %d to %q:\n%s", r.status, r.location, r.body)
	}
}

// adminCSRFPattern finds the CSRF token of a page's forms.
var adminCSRFPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the forms on the page at path.
func (e *adminEnv) csrf(c *http.Client, path string) string {
	e.t.Helper()
	r := e.getWith(c, path)
	m := adminCSRFPattern.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		e.t.Fatalf("GET %s: %d, no CSRF token:\n%s", path, r.status, r.body)
	}
	return m[1]
}

// create creates a page payment.
func (e *adminEnv) create(subject string, amount alipay.Amount, metadata map[string]string) *payment.Payment {
	e.t.Helper()
	p, err := e.svc.CreatePayment(e.ctx(), payment.CreatePaymentRequest{Subject: subject, Amount: amount, Channel: payment.ChannelPage, Metadata: metadata})
	if err != nil {
		e.t.Fatalf("CreatePayment: %v", err)
	}
	return p
}

// pay opens the cashier of p as the buyer's browser does, pays it as the
// sandbox buyer and waits for the notifies.
func (e *adminEnv) pay(p *payment.Payment) {
	e.t.Helper()
	resp, err := e.srv.Client().Get(p.PayURL) // follows the redirect to the cashier
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if err := e.sb.Pay(e.ts.AppID, p.Order.OutTradeNo); err != nil {
		e.t.Fatalf("sandbox Pay: %v", err)
	}
	if err := e.sb.DeliverDue(e.ctx()); err != nil {
		e.t.Fatalf("DeliverDue: %v", err)
	}
}

// order returns the stored order.
func (e *adminEnv) order(id string) *payment.Order {
	e.t.Helper()
	o, err := e.store.GetOrder(e.ctx(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// refunds returns the order's refunds.
func (e *adminEnv) refunds(id string) []payment.Refund {
	e.t.Helper()
	rs, err := e.store.ListRefunds(e.ctx(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

// wantSecretsAbsent fails the test if body holds the password, its
// hash, the app's private key or a session cookie's value.
func (e *adminEnv) wantSecretsAbsent(what, body string) {
	e.t.Helper()
	secrets := map[string]string{
		"the password":       adminTestPassword,
		"the private key":    adminKeyBody(e.ts.AppPrivateKeyPEM),
		"the webhook secret": hookSecret,
	}
	if strings.HasPrefix(e.admin.Password, "pbkdf2") {
		secrets["the password hash"] = e.admin.Password
	}
	u, _ := url.Parse(e.srv.URL + "/admin/")
	for _, c := range e.client.Jar.Cookies(u) {
		secrets["the session cookie"] = c.Value
	}
	for name, s := range secrets {
		if s != "" && strings.Contains(body, s) {
			e.t.Errorf("%s contains %s", what, name)
		}
	}
}

// adminKeyBody returns the longest base64 line of a PEM block: enough of
// the key to recognise it anywhere.
func adminKeyBody(pem string) string {
	best := ""
	for _, l := range strings.Split(pem, "\n") {
		if !strings.HasPrefix(l, "-----") && len(l) > len(best) {
			best = l
		}
	}
	return best
}
