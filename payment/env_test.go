package payment_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"zhifu/alipay"
	"zhifu/internal/testclock"
	"zhifu/payment"
	"zhifu/payment/sqlitestore"
	"zhifu/sandbox"
)

// TestMain checks that no test leaves goroutines behind: the sandbox's,
// the stores' (commit queue, pools), the servers', the jobs' River clients.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// opener opens a new, empty store for one test, closed when it ends.
type opener struct {
	name string
	open func(t *testing.T) payment.Store
}

// openers returns the stores every scenario runs on: SQLite in a
// temporary directory, and PostgreSQL in a schema of its own (skipped
// when no server answers, failed then with ZHIFU_REQUIRE_POSTGRES=1).
func openers() []opener {
	return []opener{
		{"sqlite", openSQLite},
		{"postgres", openPostgres},
	}
}

func openSQLite(t *testing.T) payment.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "zhifu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T) payment.Store {
	t.Helper()
	_, dsn := pgSchema(t)
	return openPostgresAt(t, dsn)
}

// scenario is one test of the suite, run on every store.
type scenario struct {
	name string
	fn   func(t *testing.T, open func(*testing.T) payment.Store)
}

// runScenarios runs every scenario on every store, in parallel.
func runScenarios(t *testing.T, scenarios []scenario) {
	for _, o := range openers() {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					sc.fn(t, o.open)
				})
			}
		})
	}
}

// options change an env.
type options struct {
	policy       payment.PaidAfterClosePolicy
	queryTimeout time.Duration
	sellerID     string // "-": none; "": the sandbox app's
	store        func(payment.Store) payment.Store
	notify       func(http.Handler) http.Handler
	onChange     func(context.Context, payment.Change)
	// jobs, when set, gives the Service Jobs of this configuration
	// (Runner, Store and Now, the env's clock, filled in) through
	// Config.Jobs, started for the test and stopped at its end: a job is
	// due when the clock is advanced past its time. SQLite only.
	jobs *payment.JobsConfig
}

// env is a Service on a store, its notify and return handlers on an
// httptest server, and a sandbox it calls over HTTP.
type env struct {
	t     *testing.T
	ts    *sandbox.TestServer
	sb    *sandbox.Sandbox
	app   sandbox.App
	store payment.Store
	ali   *alipay.Client
	svc   *payment.Service
	cfg   payment.Config
	srv   *httptest.Server
	clock *testclock.Clock
	logs  *logRecorder
	http  *http.Client // follows no redirect
}

func newEnv(t *testing.T, open func(*testing.T) payment.Store, opts options) *env {
	t.Helper()
	e := &env{t: t, ts: sandbox.NewTestServer(t), clock: testclock.New(time.Now())}
	e.sb = e.ts.Sandbox
	e.app, _ = e.sb.App(e.ts.AppID)
	e.store = open(t)
	if opts.store != nil {
		e.store = opts.store(e.store)
	}
	e.ali = e.ts.Client()
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.http = &http.Client{
		Transport:     e.srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	e.logs = newLogRecorder(t)
	e.cfg = payment.Config{
		Store:                e.store,
		Alipay:               e.ali,
		SellerID:             e.app.SellerID,
		NotifyURL:            e.srv.URL + "/notify",
		ReturnURL:            e.srv.URL + "/return",
		PaidAfterClosePolicy: opts.policy,
		Logger:               slog.New(e.logs),
		Now:                  e.clock.Now,
		QueryTimeout:         opts.queryTimeout,
		OnChange:             opts.onChange,
	}
	switch opts.sellerID {
	case "":
	case "-":
		e.cfg.SellerID = ""
	default:
		e.cfg.SellerID = opts.sellerID
	}
	if opts.jobs != nil {
		lite, ok := e.store.(*sqlitestore.Store)
		if !ok {
			t.Fatalf("jobs on a %T: SQLite only", e.store)
		}
		e.cfg.Jobs = func(r payment.JobRunner) (*payment.Jobs, error) {
			c := *opts.jobs
			c.Runner, c.Store, c.Now = r, e.store, e.clock.Now
			return payment.NewJobs(context.Background(), lite.RiverDriver(), c)
		}
	}
	svc, err := payment.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	if jobs := svc.Jobs(); jobs != nil {
		if err := jobs.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := jobs.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
		})
	} else if opts.jobs != nil {
		t.Fatal("Config.Jobs set, Service.Jobs nil")
	}
	var notify http.Handler = svc.NotifyHandler()
	if opts.notify != nil {
		notify = opts.notify(notify)
	}
	mux.Handle("/notify", notify)
	mux.Handle("/return", svc.ReturnHandler())
	return e
}

// ctx returns a context for one step of a test.
func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// create creates a payment, failing the test on error.
func (e *env) create(ch payment.Channel, amount alipay.Amount) *payment.Payment {
	e.t.Helper()
	p, err := e.svc.CreatePayment(e.ctx(), payment.CreatePaymentRequest{Subject: "测试商品 test", Amount: amount, Channel: ch})
	if err != nil {
		e.t.Fatalf("CreatePayment: %v", err)
	}
	return p
}

// open opens the cashier of a page or wap payment, as the buyer's browser
// does (the pay URL, then the cashier it redirects to), and returns the
// cashier's URL: the trade now exists at Alipay.
func (e *env) open(p *payment.Payment) string {
	e.t.Helper()
	resp, err := e.http.Get(p.PayURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || !strings.Contains(loc.Path, "/cashier/") {
		e.t.Fatalf("the pay URL answered %s, location %v: want a redirect to the cashier", resp.Status, loc)
	}
	resp, err = e.http.Get(loc.String())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("the cashier answered %s", resp.Status)
	}
	return loc.String()
}

// pay opens the checkout of p (a page or wap payment not opened yet), pays it as the
// sandbox buyer and waits for the notify deliveries that are due.
func (e *env) pay(p *payment.Payment) {
	e.t.Helper()
	if _, ok := e.sb.Trade(e.ts.AppID, p.Order.OutTradeNo); !ok && p.PayURL != "" {
		e.open(p)
	}
	if err := e.sb.Pay(e.ts.AppID, p.Order.OutTradeNo); err != nil {
		e.t.Fatalf("sandbox Pay: %v", err)
	}
	e.deliver()
}

// deliver waits until the sandbox made the notify deliveries due.
func (e *env) deliver() {
	e.t.Helper()
	if err := e.sb.DeliverDue(e.ctx()); err != nil {
		e.t.Fatalf("DeliverDue: %v", err)
	}
}

// retry advances the sandbox clock to the next notify retry and waits for
// the deliveries.
func (e *env) retry() {
	e.t.Helper()
	e.sb.Advance(4*time.Minute + time.Second)
	e.deliver()
}

// order returns the stored order.
func (e *env) order(id string) *payment.Order {
	e.t.Helper()
	o, err := e.store.GetOrder(e.ctx(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// events returns the order's log.
func (e *env) events(id string) []payment.OrderEvent {
	e.t.Helper()
	evs, err := e.store.ListEvents(e.ctx(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// count counts the order's events of the kind (and effect, if not "").
func (e *env) count(id string, kind payment.EventKind, effect payment.Effect) int {
	e.t.Helper()
	n := 0
	for _, ev := range e.events(id) {
		if ev.Kind == kind && (effect == "" || ev.Effect == effect) {
			n++
		}
	}
	return n
}

// wantStatus fails the test unless the order has the status.
func (e *env) wantStatus(id string, want payment.Status) *payment.Order {
	e.t.Helper()
	o := e.order(id)
	if o.Status != want {
		e.t.Fatalf("order %s is %s, want %s; events:\n%s", id, o.Status, want, e.dumpEvents(id))
	}
	return o
}

// dumpEvents describes the order's log.
func (e *env) dumpEvents(id string) string {
	var b strings.Builder
	for _, ev := range e.events(id) {
		fmt.Fprintf(&b, "  %d %s %s verified=%v %s→%s effect=%s %s\n", ev.Seq, ev.Kind, ev.Source, ev.Verified, ev.From, ev.To, ev.Effect, ev.Reason)
	}
	return b.String()
}

// postNotify posts body to the notify handler as a form and returns the
// answer's status and body.
func (e *env) postNotify(body string) (int, string) {
	e.t.Helper()
	return e.post("/notify", "application/x-www-form-urlencoded", body)
}

func (e *env) post(path, contentType, body string) (int, string) {
	e.t.Helper()
	resp, err := e.http.Post(e.srv.URL+path, contentType, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// attempts returns the sandbox's notify deliveries of the order.
func (e *env) attempts(o *payment.Order) []sandbox.NotifyAttempt {
	return e.sb.NotifyAttempts(e.ts.AppID, o.OutTradeNo)
}

// trade returns the sandbox's trade of the order.
func (e *env) trade(o *payment.Order) sandbox.TradeSnapshot {
	e.t.Helper()
	tr, ok := e.sb.Trade(e.ts.AppID, o.OutTradeNo)
	if !ok {
		e.t.Fatalf("the sandbox has no trade %s", o.OutTradeNo)
	}
	return tr
}

// notifyFault sets a notify fault on the order's trade.
func (e *env) notifyFault(o *payment.Order, f sandbox.NotifyFault) {
	e.t.Helper()
	if err := e.sb.SetNotifyFault(sandbox.NotifyScope{AppID: e.ts.AppID, OutTradeNo: o.OutTradeNo}, f); err != nil {
		e.t.Fatal(err)
	}
}

// fault sets an API fault.
func (e *env) fault(f sandbox.Fault) {
	e.t.Helper()
	f.AppID = e.ts.AppID
	if _, err := e.sb.SetFault(f); err != nil {
		e.t.Fatal(err)
	}
}

// logRecorder is a slog.Handler that keeps the records, checks that each
// names an out_trade_no, and prints them when the test fails.
type logRecorder struct {
	t     *testing.T
	mu    *sync.Mutex
	recs  *[]string
	attrs []slog.Attr
}

func newLogRecorder(t *testing.T) *logRecorder {
	l := &logRecorder{t: t, mu: new(sync.Mutex), recs: new([]string)}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			defer l.mu.Unlock()
			for _, r := range *l.recs {
				t.Log(r)
			}
		}
	})
	return l
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	has := false
	add := func(a slog.Attr) {
		if a.Key == "out_trade_no" {
			has = true
		}
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
	}
	for _, a := range l.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	if !has {
		l.t.Errorf("log line without out_trade_no: %s", b.String())
	}
	l.mu.Lock()
	*l.recs = append(*l.recs, b.String())
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *l
	c.attrs = append(append([]slog.Attr(nil), l.attrs...), as...)
	return &c
}

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

// has reports whether a line contains every one of parts.
func (l *logRecorder) has(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range *l.recs {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(r, p)
		}
		if all {
			return true
		}
	}
	return false
}

// failingStore is a Store whose ApplyTransition fails while fail is set:
// a process killed before its commit.
type failingStore struct {
	payment.Store
	mu   sync.Mutex
	fail bool
	// failRefunds fails ReserveRefund instead of ApplyTransition.
	failRefunds bool
}

var errKilled = errors.New("test: the process died before the commit")

func (s *failingStore) set(fail bool) {
	s.mu.Lock()
	s.fail = fail
	s.mu.Unlock()
}

func (s *failingStore) failing(refunds bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail && s.failRefunds == refunds
}

func (s *failingStore) ReserveRefund(ctx context.Context, r *payment.Refund, events ...payment.OrderEvent) error {
	if s.failing(true) {
		return errKilled
	}
	return s.Store.ReserveRefund(ctx, r, events...)
}

func (s *failingStore) ApplyTransition(ctx context.Context, t payment.Transition) error {
	if s.failing(false) {
		return errKilled
	}
	return s.Store.ApplyTransition(ctx, t)
}
