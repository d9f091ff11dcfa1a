package payment_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/internal/benchload"
	"zhifu/internal/cputime"
	"zhifu/internal/testpg"
	"zhifu/payment"
	"zhifu/payment/postgresstore"
	"zhifu/payment/sqlitestore"
	"zhifu/sandbox"
)

// The payment service's throughput, beside the raw RSA operation each
// request cannot avoid, measured in the same run. bench/payment.sh runs
// these benchmarks with a fixed count (-test.benchtime=Nx) and prints the
// table; docs/BENCHMARKS.md ("Payment service") has the numbers.
//
//   - BenchmarkNotify/{sqlite,postgres}: b.N pending orders are created
//     and, for each, a TRADE_SUCCESS notify signed with the sandbox's
//     Alipay key is built (both untimed); then benchSenders goroutines
//     POST them over loopback HTTP to Service.NotifyHandler as fast as
//     they can. Every notify is a different order: a real state
//     transition and a durable commit. Each must be answered "success".
//     After the timer, every order is checked: paid once, with exactly its
//     three events (created, notify_received, state_changed).
//   - BenchmarkRawRSAVerify: rsa.VerifyPKCS1v15 with the same Alipay key on
//     a precomputed digest, one goroutine per GOMAXPROCS.
//   - BenchmarkCreatePayment/{sqlite,postgres}: benchSenders goroutines
//     call Service.CreatePayment (page channel: the order is stored, then
//     the cashier URL signed) in process, as a merchant's own handler
//     would. After the timer, every order is checked: stored pending with
//     its created event, its URL's signature verifying with the app key.
//   - BenchmarkRawRSASign: rsa.SignPKCS1v15 with the same app key on a
//     precomputed digest, one goroutine per GOMAXPROCS.
//
// The SQLite store is a file in a temporary directory, WAL with
// synchronous=FULL (every commit fsynced); PostgreSQL is the test server
// (ZHIFU_TEST_POSTGRES, skipped when it does not answer unless
// ZHIFU_REQUIRE_POSTGRES=1), in a schema of its own. The Service logs as
// it would in production, at Info, through a JSON handler into io.Discard:
// the formatting is counted, the writing is not.

// benchSenders is the number of concurrent notify senders and payment
// creators.
const benchSenders = 64

// benchKeys returns the keys of every benchmark, made once per process.
func benchKeys() (alipayKey, appKey *rsa.PrivateKey) { return sandbox.TestKeys() }

// benchStore is a store the benchmarks run on.
type benchStore struct {
	name string
	open func(b *testing.B) payment.Store
}

var benchStores = []benchStore{
	{"sqlite", benchSQLite},
	{"postgres", benchPostgres},
}

func benchSQLite(b *testing.B) payment.Store {
	b.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "zhifu.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchPostgres opens a PostgreSQL store in a new schema, as openPostgres
// does for the tests.
func benchPostgres(b *testing.B) payment.Store {
	b.Helper()
	ctx := context.Background()
	_, dsn := testpg.Schema(b)
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	if n := os.Getenv("ZHIFU_BENCH_POOL"); n != "" {
		q.Set("pool_max_conns", n)
	}
	u.RawQuery = q.Encode()
	s, err := postgresstore.Open(ctx, u.String())
	if err != nil {
		b.Fatalf("postgresstore.Open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchEnv is a sandbox with one app (the benchmark keys) behind an
// httptest.Server, and a Service on a store with its notify handler behind
// another.
type benchEnv struct {
	b      *testing.B
	sb     *sandbox.Sandbox
	app    sandbox.App
	store  payment.Store
	svc    *payment.Service
	notify *httptest.Server
	client *http.Client // benchSenders keep-alive connections
}

func newBenchEnv(b *testing.B, open func(*testing.B) payment.Store) *benchEnv {
	b.Helper()
	alipayKey, appKey := benchKeys()
	ts := sandbox.NewTestServerKeys(b, sandbox.Config{}, alipayKey, appKey)
	app, _ := ts.Sandbox.App(ts.AppID)
	ali := ts.Client()
	sb := ts.Sandbox
	e := &benchEnv{b: b, sb: sb, app: app, store: open(b)}
	mux := http.NewServeMux()
	e.notify = httptest.NewServer(mux)
	b.Cleanup(e.notify.Close)
	var err error
	e.svc, err = payment.New(payment.Config{
		Store:     e.store,
		Alipay:    ali,
		SellerID:  app.SellerID,
		NotifyURL: e.notify.URL + "/notify",
		ReturnURL: e.notify.URL + "/return",
		Logger:    slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	mux.Handle("/notify", e.svc.NotifyHandler())
	tr := &http.Transport{
		DialContext:         (&net.Dialer{}).DialContext,
		MaxIdleConnsPerHost: benchSenders,
		DisableCompression:  true,
	}
	e.client = &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	return e
}

// createPending stores n pending page orders, as CreatePayment does (the
// order and its created event) but without signing their URLs.
func (e *benchEnv) createPending(n int) []*payment.Order {
	e.b.Helper()
	ctx := context.Background()
	orders := make([]*payment.Order, n)
	now := time.Now()
	err := benchload.Parallel(n, benchSenders, func(i int) error {
		o := &payment.Order{
			ID: payment.NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(),
			Subject: fmt.Sprintf("测试商品 %d", i), Amount: alipay.Amount(100 + i%10000),
			Channel: payment.ChannelPage, Status: payment.StatusPending,
			ExpiresAt: now.Add(payment.DefaultExpiry).Truncate(time.Second), CreatedAt: now, UpdatedAt: now,
		}
		orders[i] = o
		return e.store.CreateOrder(ctx, o, payment.OrderEvent{
			Kind: payment.EventCreated, Source: payment.SourceMerchant, Reason: "created: bench",
		})
	})
	if err != nil {
		e.b.Fatal(err)
	}
	return orders
}

// notifyForms returns, for each order, the body of the TRADE_SUCCESS
// notify the sandbox would send for it: sandbox.Event.NotifyParams of the
// paid trade, with a notify_id, notify_time and sign_type, signed with the
// sandbox's Alipay key.
func (e *benchEnv) notifyForms(orders []*payment.Order) []string {
	e.b.Helper()
	alipayKey, _ := benchKeys()
	forms := make([]string, len(orders))
	now := time.Now()
	err := benchload.Parallel(len(orders), runtime.GOMAXPROCS(0), func(i int) error {
		o := orders[i]
		ev := sandbox.Event{Seq: uint64(i + 1), Kind: sandbox.EventPaid, Time: now, Trade: sandbox.TradeSnapshot{
			AppID: e.app.AppID, OutTradeNo: o.OutTradeNo, TradeNo: fmt.Sprintf("%s22001%015d", now.Format("20060102"), i),
			Method: "alipay.trade.page.pay", ProductCode: "FAST_INSTANT_TRADE_PAY", Status: alipay.TradeStatusSuccess,
			TotalAmount: o.Amount, Subject: o.Subject, SellerID: e.app.SellerID,
			BuyerID: "2088000000000001", BuyerOpenID: "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5", BuyerLogonID: "buy***@example.com",
			GmtCreate: now.Add(-time.Minute), GmtPayment: now,
		}}
		p := ev.NotifyParams()
		p.Set("notify_id", fmt.Sprintf("bench%028d", i))
		p.Set("notify_time", alipay.FormatTime(now))
		p.Set("sign_type", string(alipay.SignTypeRSA2))
		sign, err := alipay.SignNotify(alipayKey, alipay.SignTypeRSA2, p)
		if err != nil {
			return err
		}
		p.Set("sign", sign)
		forms[i] = p.Encode()
		return nil
	})
	if err != nil {
		e.b.Fatal(err)
	}
	return forms
}

// postNotify sends one notify and checks that it was answered success.
func (e *benchEnv) postNotify(form string) error {
	resp, err := e.client.Post(e.notify.URL+"/notify", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || string(body) != "success" {
		return fmt.Errorf("notify answered %s %q, want 200 success", resp.Status, body)
	}
	return nil
}

// commitCounter is a store that counts the transactions of its group
// commit (both stores).
type commitCounter interface{ Commits() int64 }

// BenchmarkNotify measures notifies handled per second: benchSenders
// goroutines POST signed TRADE_SUCCESS notifies of b.N different pending
// orders over loopback HTTP.
func BenchmarkNotify(b *testing.B) {
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			e := newBenchEnv(b, st.open)
			orders := e.createPending(b.N)
			forms := e.notifyForms(orders)
			// One warm connection per sender, so that dialing is not timed.
			if err := benchload.Parallel(benchSenders, benchSenders, func(int) error {
				resp, err := e.client.Get(e.notify.URL + "/notify")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				return err
			}); err != nil {
				b.Fatal(err)
			}
			cc, counts := e.store.(commitCounter)
			var commits0 int64
			if counts {
				commits0 = cc.Commits()
			}
			runtime.GC()
			cpu0, db0 := cputime.Process(), cputime.Postgres()
			stopProfile := startTimedProfile(b, "notify-"+st.name)
			b.ResetTimer()
			start := time.Now()
			err := benchload.Parallel(b.N, benchSenders, func(i int) error { return e.postNotify(forms[i]) })
			elapsed := time.Since(start)
			b.StopTimer()
			stopProfile()
			cpu, db := cputime.Process()-cpu0, cputime.Postgres()-db0
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "notifies/s")
			e.reportCPU(st.name, cpu, db)
			if counts {
				b.ReportMetric(float64(b.N)/float64(cc.Commits()-commits0), "writes/commit")
			}
			e.checkPaid(orders)
		})
	}
}

// startTimedProfile starts a CPU profile of the timed part of a benchmark
// when ZHIFU_BENCH_PROFILE names a directory (cputime.StartProfile), and
// returns the function that stops it.
func startTimedProfile(b *testing.B, name string) (stop func()) {
	stopProfile, err := cputime.StartProfile(name)
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		if err := stopProfile(); err != nil {
			b.Error(err)
		}
	}
}

// reportCPU reports the CPU time per op of this process (cpu-ns/op) and,
// on PostgreSQL, of the local server's processes (db-cpu-ns/op), which
// compete for the same CPUs.
func (e *benchEnv) reportCPU(store string, cpu, db time.Duration) {
	n := float64(e.b.N)
	if cpu > 0 {
		e.b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/op")
	}
	if store == "postgres" && db > 0 {
		e.b.ReportMetric(float64(db.Nanoseconds())/n, "db-cpu-ns/op")
	}
}

// checkPaid checks that every order was paid exactly once: paid, version 2
// (one transition), and three events — created, the notify (verified,
// transitioned) and the state change.
func (e *benchEnv) checkPaid(orders []*payment.Order) {
	e.b.Helper()
	ctx := context.Background()
	err := benchload.Parallel(len(orders), 8, func(i int) error {
		want := orders[i]
		o, err := e.store.GetOrder(ctx, want.ID)
		if err != nil {
			return err
		}
		if o.Status != payment.StatusPaid || o.PaidAmount != want.Amount || o.Version != 2 || o.TradeNo == "" {
			return fmt.Errorf("order %s: %s, paid %s of %s, version %d: want paid once", o.ID, o.Status, o.PaidAmount, want.Amount, o.Version)
		}
		evs, err := e.store.ListEvents(ctx, o.ID)
		if err != nil {
			return err
		}
		var kinds []string
		for _, ev := range evs {
			kinds = append(kinds, string(ev.Kind)+"/"+string(ev.Effect))
		}
		got := strings.Join(kinds, " ")
		wantKinds := fmt.Sprintf("%s/ %s/%s %s/%s", payment.EventCreated,
			payment.EventNotifyReceived, payment.EffectTransitioned, payment.EventStateChanged, payment.EffectTransitioned)
		if got != wantKinds || !evs[1].Verified {
			return fmt.Errorf("order %s: events %s, want %s (the notify verified)", o.ID, got, wantKinds)
		}
		return nil
	})
	if err != nil {
		e.b.Fatal(err)
	}
}

// BenchmarkCreatePayment measures payments created per second:
// benchSenders goroutines call CreatePayment for page payments in process.
func BenchmarkCreatePayment(b *testing.B) {
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			e := newBenchEnv(b, st.open)
			ctx := context.Background()
			payments := make([]*payment.Payment, b.N)
			cc, counts := e.store.(commitCounter)
			var commits0 int64
			if counts {
				commits0 = cc.Commits()
			}
			runtime.GC()
			cpu0, db0 := cputime.Process(), cputime.Postgres()
			stopProfile := startTimedProfile(b, "create-"+st.name)
			b.ResetTimer()
			start := time.Now()
			err := benchload.Parallel(b.N, benchSenders, func(i int) error {
				p, err := e.svc.CreatePayment(ctx, payment.CreatePaymentRequest{
					Subject: fmt.Sprintf("测试商品 %d", i), Body: "bench", Amount: alipay.Amount(100 + i%10000), Channel: payment.ChannelPage,
				})
				payments[i] = p
				return err
			})
			elapsed := time.Since(start)
			b.StopTimer()
			stopProfile()
			cpu, db := cputime.Process()-cpu0, cputime.Postgres()-db0
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "payments/s")
			e.reportCPU(st.name, cpu, db)
			if counts {
				b.ReportMetric(float64(b.N)/float64(cc.Commits()-commits0), "writes/commit")
			}
			e.checkCreated(payments)
		})
	}
}

// checkCreated checks that every payment's order is stored once, pending,
// with its created event, and that its URL is signed with the app key.
func (e *benchEnv) checkCreated(payments []*payment.Payment) {
	e.b.Helper()
	ctx := context.Background()
	_, appKey := benchKeys()
	seen := make(map[string]bool, len(payments))
	for _, p := range payments {
		if seen[p.Order.OutTradeNo] {
			e.b.Fatalf("out_trade_no %s used twice", p.Order.OutTradeNo)
		}
		seen[p.Order.OutTradeNo] = true
	}
	err := benchload.Parallel(len(payments), 8, func(i int) error {
		p := payments[i]
		o, err := e.store.GetOrderByOutTradeNo(ctx, p.Order.OutTradeNo)
		if err != nil {
			return err
		}
		if o.ID != p.Order.ID || o.Status != payment.StatusPending || o.Amount != p.Order.Amount {
			return fmt.Errorf("order %s: %s %s, want pending %s", o.ID, o.Status, o.Amount, p.Order.Amount)
		}
		evs, err := e.store.ListEvents(ctx, o.ID)
		if err != nil {
			return err
		}
		if len(evs) != 1 || evs[0].Kind != payment.EventCreated {
			return fmt.Errorf("order %s: %d events, want 1 created", o.ID, len(evs))
		}
		u, err := url.Parse(p.PayURL)
		if err != nil {
			return err
		}
		if err := alipay.VerifyRequest(&appKey.PublicKey, u.Query()); err != nil {
			return fmt.Errorf("order %s: pay URL: %w", o.ID, err)
		}
		return nil
	})
	if err != nil {
		e.b.Fatal(err)
	}
}

// BenchmarkRawRSAVerify is rsa.VerifyPKCS1v15 with the sandbox's Alipay
// key, the RSA operation of every notify.
func BenchmarkRawRSAVerify(b *testing.B) {
	alipayKey, _ := benchKeys()
	digest := sha256.Sum256([]byte("app_id=2021000000000001&notify_id=bench&out_trade_no=bench"))
	sig, err := rsa.SignPKCS1v15(nil, alipayKey, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	benchload.RawRate(b, "verifies/s", func() error {
		return rsa.VerifyPKCS1v15(&alipayKey.PublicKey, crypto.SHA256, digest[:], sig)
	})
}

// BenchmarkRawRSASign is rsa.SignPKCS1v15 with the app key, the RSA
// operation of every page payment's URL.
func BenchmarkRawRSASign(b *testing.B) {
	_, appKey := benchKeys()
	digest := sha256.Sum256([]byte("app_id=2021000000000001&biz_content=bench"))
	benchload.RawRate(b, "signs/s", func() error {
		_, err := rsa.SignPKCS1v15(nil, appKey, crypto.SHA256, digest[:])
		return err
	})
}
