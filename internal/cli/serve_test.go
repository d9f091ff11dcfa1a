package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"zhifu/internal/testpg"
	"zhifu/payment"
	"zhifu/payment/sqlitestore"
	"zhifu/sandbox"
)

// runningServe is zhifu serve running in-process.
type runningServe struct {
	app            *app
	addr           net.Addr
	stdout, stderr *notifyBuffer
	stop           context.CancelFunc
	exited         chan int
	once           sync.Once
	code           int
}

// startServe runs zhifu serve with env and args until the test ends, and
// returns once its app is built and its address bound.
func startServe(t *testing.T, env map[string]string, args ...string) *runningServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningServe{stdout: newNotifyBuffer(), stderr: newNotifyBuffer(), stop: cancel, exited: make(chan int, 1)}
	ready := make(chan struct{})
	s := &streams{stdin: strings.NewReader(""), stdout: rs.stdout, stderr: rs.stderr, getenv: func(k string) string { return env[k] }}
	go func() {
		rs.exited <- runServe(ctx, s, args, func(a *app, addr net.Addr) {
			rs.app, rs.addr = a, addr
			close(ready)
		})
	}()
	t.Cleanup(func() { rs.shutdown(t) })
	select {
	case <-ready:
	case code := <-rs.exited:
		rs.exited <- code
		t.Fatalf("zhifu serve exited with %d before it was ready\nstdout:\n%s\nstderr:\n%s", code, rs.stdout, rs.stderr)
	case <-time.After(time.Minute):
		t.Fatalf("zhifu serve was not ready in a minute\nstdout:\n%s\nstderr:\n%s", rs.stdout, rs.stderr)
	}
	return rs
}

// shutdown interrupts zhifu serve, as SIGTERM does, and returns its exit
// code once it has stopped. Calling it again returns the same code.
func (rs *runningServe) shutdown(t *testing.T) int {
	t.Helper()
	rs.once.Do(func() {
		rs.stop()
		select {
		case rs.code = <-rs.exited:
		case <-time.After(time.Minute):
			t.Error("zhifu serve did not stop within a minute")
			rs.code = -1
		}
	})
	return rs.code
}

// url returns the URL of path on the server.
func (rs *runningServe) url(path string) string { return "http://" + rs.addr.String() + path }

// newServeSandbox returns a sandbox with one app, and the flags that point
// zhifu serve at it with the app's keys, in files.
func newServeSandbox(t *testing.T) (*sandbox.TestServer, []string) {
	t.Helper()
	ts := sandbox.NewTestServer(t)
	dir := t.TempDir()
	return ts, []string{
		"--listen", "127.0.0.1:0", "--app-id", ts.AppID, "--gateway", ts.GatewayURL,
		"--app-private-key-file", writeFile(t, dir, "app_private_key.pem", ts.AppPrivateKeyPEM),
		"--alipay-public-key-file", writeFile(t, dir, "alipay_public_key.pem", ts.AlipayPublicKeyPEM),
	}
}

// payThroughNotify creates a payment through the app's Service, pays it
// in the sandbox and has the sandbox deliver its notify to zhifu serve's
// /alipay/notify: the order must then be paid.
func payThroughNotify(t *testing.T, ts *sandbox.TestServer, rs *runningServe) *payment.Order {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := rs.app.service.CreatePayment(ctx, payment.CreatePaymentRequest{Subject: "serve test", Amount: 1234, Channel: payment.ChannelPrecreate})
	if err != nil {
		t.Fatalf("CreatePayment: %v", err)
	}
	if err := ts.Sandbox.Pay(ts.AppID, p.Order.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	if err := ts.Sandbox.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	attempts := ts.Sandbox.NotifyAttempts(ts.AppID, p.Order.OutTradeNo)
	if len(attempts) != 1 || attempts[0].URL != rs.url(notifyPath) || attempts[0].StatusCode != http.StatusOK || attempts[0].Body != "success" {
		t.Fatalf("notify deliveries: %+v", attempts)
	}
	o, err := rs.app.service.GetOrder(ctx, p.Order.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != payment.StatusPaid || o.PaidAmount != 1234 {
		t.Fatalf("after the notify the order is %s (paid %v)", o.Status, o.PaidAmount)
	}
	return o
}

func TestServeSQLite(t *testing.T) {
	t.Parallel()
	ts, args := newServeSandbox(t)
	dbPath := filepath.Join(t.TempDir(), "zhifu.db")
	env := map[string]string{
		"ZHIFU_DATABASE": dbPath, "ZHIFU_LOG_LEVEL": "debug", "ZHIFU_WEBHOOK_URL": "https://shop.example.com/hooks/zhifu",
		"ZHIFU_WEBHOOK_SECRET": testWebhookSecret, "ZHIFU_ADMIN_PASSWORD": testAdminPassword,
	}
	rs := startServe(t, env, args...)
	o := payThroughNotify(t, ts, rs)

	// The other endpoints.
	resp, err := http.Get(rs.url("/healthz"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("/healthz: %s %q", resp.Status, body)
	}
	// The operations endpoints: ready (database and migrations), and the
	// metrics, which counted the notify and see the jobs.
	for path, wants := range map[string][]string{
		"/readyz":  {`"ready"`},
		"/metrics": {`zhifu_notifies_total{result="applied"} 1`, "\nzhifu_store_transactions_total "},
	} {
		resp, err := http.Get(rs.url(path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range wants {
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
				t.Errorf("%s: %s, want 200 with %q:\n%s", path, resp.Status, want, body)
			}
		}
	}
	// The JSON API answers, and wants an API key.
	resp, err = http.Get(rs.url("/v1/payments/" + o.ID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/payments/%s without a key: %s, want 401", o.ID, resp.Status)
	}
	resp, err = http.Get(rs.url(notifyPath))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %s, want 405", notifyPath, resp.Status)
	}
	resp, err = http.Get(rs.url(returnPath + "?out_trade_no=" + o.OutTradeNo))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unsigned return: %s, want 400", resp.Status)
	}

	if code := rs.shutdown(t); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, rs.stderr)
	}
	out := rs.stdout.String()
	for _, want := range []string{
		"opening the SQLite database " + dbPath, "database ready: migrations applied", "jobs ready", "jobs started",
		"listening on http://" + rs.addr.String(), "notify URL: " + rs.url(notifyPath), "return URL: " + rs.url(returnPath),
		"shutting down", "stopped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// The database is closed: the app's Service fails.
	if _, err := rs.app.service.GetOrder(context.Background(), o.ID); err == nil {
		t.Error("the store still answers after the shutdown")
	}
	// What serve stored is on disk: the paid order, and its jobs.
	s, err := sqlitestore.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.GetOrder(context.Background(), o.ID); err != nil || got.Status != payment.StatusPaid {
		t.Errorf("the order on disk: %+v %v", got, err)
	}
	var jobs int
	if err := s.DB().QueryRow(`SELECT count(*) FROM river_job WHERE kind = ?`, payment.JobKindReconcileOrder).Scan(&jobs); err != nil || jobs == 0 {
		t.Errorf("reconcile jobs scheduled: %d %v", jobs, err)
	}
	checkNoSecrets(t, "zhifu serve's output", rs.stdout.String()+rs.stderr.String(), secretParts(ts.AppPrivateKeyPEM))
	if !strings.Contains(rs.stderr.String(), "webhook_secret=[redacted]") {
		t.Errorf("the configuration is not logged, redacted:\n%s", rs.stderr)
	}
}

// TestServeJSONLogsAndCodeConfig builds the app from a configuration made
// in code, as zhifu demo does, with its own clock and HTTP client.
func TestServeCodeConfig(t *testing.T) {
	t.Parallel()
	ts := sandbox.NewTestServer(t)
	var calls sync.Map
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Store(r.URL.Path, true)
		return http.DefaultTransport.RoundTrip(r)
	})}
	fixed := time.Now().Add(-10 * time.Minute).Truncate(time.Second) // within the gateway's 15 minutes
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &serveConfig{
		AppID: ts.AppID, AppPrivateKey: secret(ts.AppPrivateKeyPEM), AlipayPublicKey: ts.AlipayPublicKeyPEM,
		Gateway: ts.GatewayURL, PublicURL: "http://" + ln.Addr().String(), Database: dsn(filepath.Join(t.TempDir(), "z.db")),
		Now: func() time.Time { return fixed }, HTTPClient: client, Logger: slog.New(slog.DiscardHandler),
	}
	var progress strings.Builder
	a, err := newApp(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln) }()
	p, err := a.service.CreatePayment(ctx, payment.CreatePaymentRequest{Subject: "code", Amount: 100, Channel: payment.ChannelPrecreate})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Order.CreatedAt.Equal(fixed) || !p.Order.ExpiresAt.Equal(fixed.Add(payment.DefaultExpiry)) {
		t.Errorf("the order's times %v, %v: not of the injected clock", p.Order.CreatedAt, p.Order.ExpiresAt)
	}
	if _, ok := calls.Load("/gateway.do"); !ok {
		t.Error("the injected HTTP client was not used")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "stopped") {
		t.Errorf("progress:\n%s", progress.String())
	}

	// A configuration made in code is checked too.
	bad := &serveConfig{AppID: ts.AppID, AppPrivateKey: secret(ts.AlipayPublicKeyPEM), AlipayPublicKey: ts.AlipayPublicKeyPEM,
		Gateway: ts.GatewayURL, Database: "x.db"}
	if _, err := newApp(context.Background(), bad, nil); err == nil || !strings.Contains(err.Error(), "app_private_key (set in code): holds a public key") ||
		!strings.Contains(err.Error(), "public_url: not set") {
		t.Errorf("newApp with a bad configuration: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestServePostgres(t *testing.T) {
	t.Parallel()
	_, dsn := testpg.Schema(t)
	ts, args := newServeSandbox(t)
	rs := startServe(t, map[string]string{"ZHIFU_DATABASE": dsn, "ZHIFU_LOG_FORMAT": "json"}, args...)
	payThroughNotify(t, ts, rs)
	if code := rs.shutdown(t); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, rs.stderr)
	}
	if !strings.Contains(rs.stdout.String(), "opening the PostgreSQL database") || !strings.Contains(rs.stderr.String(), `"msg":"serving"`) {
		t.Errorf("stdout:\n%s\nstderr:\n%s", rs.stdout, rs.stderr)
	}
	if rs.app.db.schema == "" {
		t.Error("River's schema was not taken from the DSN's search_path")
	}
}

// TestServeTwoInstancesPostgres starts two zhifu serve on one PostgreSQL
// schema at once: they migrate under the lock without error, and an order
// paid through one is paid for the other.
func TestServeTwoInstancesPostgres(t *testing.T) {
	t.Parallel()
	_, dsn := testpg.Schema(t)
	ts, args := newServeSandbox(t)
	env := map[string]string{"ZHIFU_DATABASE": dsn}
	var wg sync.WaitGroup
	instances := make([]*runningServe, 2)
	for i := range instances {
		wg.Go(func() { instances[i] = startServe(t, env, args...) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	o := payThroughNotify(t, ts, instances[0])
	got, err := instances[1].app.service.GetOrder(context.Background(), o.ID)
	if err != nil || got.Status != payment.StatusPaid {
		t.Errorf("the other instance sees %+v %v", got, err)
	}
	for i, rs := range instances {
		if code := rs.shutdown(t); code != 0 {
			t.Errorf("instance %d: exit %d\nstderr:\n%s", i, code, rs.stderr)
		}
	}
}

// TestServeListenBusy checks that an address in use is reported, naming
// the setting, and that nothing is left open.
func TestServeListenBusy(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, args := newServeSandbox(t)
	args = append(args, "--listen", ln.Addr().String(), "--database", filepath.Join(t.TempDir(), "z.db"))
	var stdout, stderr strings.Builder
	code := mainEnv(t.Context(), append([]string{"serve"}, args...), func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "listen (flag --listen): ") || stdout.String() != "" {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}

// startNotifyInFlight opens a connection to zhifu serve and sends the
// head of a notify whose body is still to come, and returns once the
// notify handler is running: it asked for the body (100 Continue).
func startNotifyInFlight(t *testing.T, rs *runningServe, body string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", rs.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		notifyPath, rs.addr, len(body))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line after it
		t.Fatal(err)
	}
	return conn, br
}

// TestServeFinishesRequestsInFlight interrupts zhifu serve while a notify
// is being received: the notify is answered before it stops.
func TestServeFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	_, args := newServeSandbox(t)
	rs := startServe(t, nil, append(args, "--database", filepath.Join(t.TempDir(), "z.db"))...)
	body := "notify_type=trade_status_sync&out_trade_no=NONE"
	conn, br := startNotifyInFlight(t, rs, body)
	rs.stop() // SIGTERM, as it were, with the notify half received
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the notify in flight got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("an unsigned notify answered %s", resp.Status)
	}
	if code := rs.shutdown(t); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, rs.stderr)
	}
}

// TestServeShutdownDeadline interrupts zhifu serve while a notify's body
// never comes: at --shutdown-timeout the request is cut off, the database
// closed, and the exit says so.
func TestServeShutdownDeadline(t *testing.T) {
	t.Parallel()
	_, args := newServeSandbox(t)
	rs := startServe(t, nil, append(args, "--database", filepath.Join(t.TempDir(), "z.db"), "--shutdown-timeout", "100ms")...)
	startNotifyInFlight(t, rs, "never sent")
	if code := rs.shutdown(t); code != exitFail || !strings.Contains(rs.stderr.String(), "requests still in flight after 100ms were cut off") {
		t.Fatalf("exit %d\nstderr:\n%s", code, rs.stderr)
	}
	if _, err := rs.app.service.GetOrder(context.Background(), "ord_X"); err == nil || errors.Is(err, payment.ErrNotFound) {
		t.Errorf("the database still answers after the shutdown: %v", err)
	}
}

// TestServeAppRun runs an app made in code with run, which listens on the
// configured address; its notify URL is made of it.
func TestServeAppRun(t *testing.T) {
	t.Parallel()
	ts := sandbox.NewTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a free port, for run to listen on
	cfg := &serveConfig{
		Listen: addr, AppID: ts.AppID, AppPrivateKey: secret(ts.AppPrivateKeyPEM), AlipayPublicKey: ts.AlipayPublicKeyPEM,
		Gateway: ts.GatewayURL, Database: dsn(filepath.Join(t.TempDir(), "z.db")), Logger: slog.New(slog.DiscardHandler),
	}
	progress := newNotifyBuffer()
	a, err := newApp(context.Background(), cfg, progress)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	for !strings.Contains(progress.String(), "listening on") {
		select {
		case <-progress.written:
		case err := <-done:
			t.Fatalf("run returned %v before listening:\n%s", err, progress)
		}
	}
	rs := &runningServe{app: a, addr: ln.Addr()}
	payThroughNotify(t, ts, rs)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Port 0 is known only once bound: newApp cannot make a notify URL of it.
	cfg0 := *cfg
	cfg0.Listen, cfg0.PublicURL = "127.0.0.1:0", ""
	if _, err := newApp(context.Background(), &cfg0, nil); err == nil || !strings.Contains(err.Error(), "public_url: not set") {
		t.Errorf("newApp with port 0 and no public URL: %v", err)
	}
}

// TestServeOpsListen serves the operations endpoints on their own address:
// there they answer, and on the public listener they do not, while the
// API stays there.
func TestServeOpsListen(t *testing.T) {
	t.Parallel()
	ts := sandbox.NewTestServer(t)
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsAddr := free.Addr().String()
	free.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), &serveConfig{
		AppID: ts.AppID, AppPrivateKey: secret(ts.AppPrivateKeyPEM), AlipayPublicKey: ts.AlipayPublicKeyPEM,
		Gateway: ts.GatewayURL, PublicURL: "http://" + ln.Addr().String(), Database: dsn(filepath.Join(t.TempDir(), "z.db")),
		OpsListen: opsAddr, Logger: slog.New(slog.DiscardHandler),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln) }()
	status := func(url string) int {
		t.Helper()
		for range 50 { // the ops listener opens as serve starts
			resp, err := http.Get(url)
			if err == nil {
				resp.Body.Close()
				return resp.StatusCode
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("GET %s: no answer", url)
		return 0
	}
	public, ops := "http://"+ln.Addr().String(), "http://"+opsAddr
	for url, want := range map[string]int{
		ops + "/metrics": http.StatusOK, ops + "/healthz": http.StatusOK, ops + "/readyz": http.StatusOK,
		ops + "/v1/payments": http.StatusNotFound,
		public + "/metrics":  http.StatusNotFound, public + "/readyz": http.StatusNotFound,
		public + "/v1/payments": http.StatusUnauthorized,
	} {
		if got := status(url); got != want {
			t.Errorf("GET %s: %d, want %d", url, got, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
