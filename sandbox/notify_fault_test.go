package sandbox

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
)

// setFault sets the fault of one trade of the test app.
func (e *notifyEnv) setFault(outTradeNo string, f NotifyFault) {
	e.t.Helper()
	if err := e.sb.SetNotifyFault(NotifyScope{AppID: TestAppID, OutTradeNo: outTradeNo}, f); err != nil {
		e.t.Fatal(err)
	}
}

func TestNotifyFaultDuplicate(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	e.setFault("DUP", NotifyFault{Duplicate: 2})
	e.pay("DUP", 100)
	e.deliver()
	got := e.rc.received()
	if len(got) != 3 {
		t.Fatalf("%d deliveries, want 3", len(got))
	}
	for _, r := range got[1:] {
		if r.raw != got[0].raw {
			t.Errorf("a copy differs:\n%s\n%s", r.raw, got[0].raw)
		}
		e.verify(r)
	}
	as := e.attempts("DUP")
	for i, a := range as {
		if a.Attempt != 1 || a.Copy != i || a.Fault.Duplicate != 2 || !a.Acknowledged {
			t.Errorf("attempt %+v", a)
		}
	}
}

// Concurrent copies reach the merchant together: each handler waits for
// all of them, which copies sent one after the other never do.
func TestNotifyFaultConcurrent(t *testing.T) {
	t.Parallel()
	const copies = 4
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
	)
	e := newNotifyEnv(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		if arrived++; arrived == copies {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			io.WriteString(w, "success")
		case <-time.After(5 * time.Second): // a guard: the copies did not come together
			io.WriteString(w, "alone")
		}
	})
	e.setFault("CONC", NotifyFault{Duplicate: copies - 1, Concurrent: true})
	e.pay("CONC", 100)
	e.deliver()
	as := e.attempts("CONC")
	if len(as) != copies {
		t.Fatalf("%d deliveries", len(as))
	}
	for _, a := range as {
		if !a.Acknowledged || !a.Fault.Concurrent {
			t.Errorf("a copy was not concurrent: %+v", a)
		}
	}
}

func TestNotifyFaultDelay(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	e.setFault("DELAY", NotifyFault{Delay: 30 * time.Second})
	e.pay("DELAY", 100)
	e.deliver()
	e.sb.Advance(30*time.Second - time.Nanosecond)
	e.deliver()
	if n := len(e.rc.received()); n != 0 {
		t.Fatalf("%d deliveries before the delay", n)
	}
	e.sb.Advance(time.Nanosecond)
	e.deliver()
	as := e.attempts("DELAY")
	if len(as) != 1 || !as[0].Time.Equal(e.start.Add(30*time.Second)) || as[0].Delay != 30*time.Second || !as[0].Acknowledged {
		t.Fatalf("attempts %+v", as)
	}
	if n := e.verify(e.rc.received()[0]); !n.NotifyTime.Equal(e.start.Add(30 * time.Second)) {
		t.Errorf("notify_time %v", n.NotifyTime)
	}
}

// Dropped deliveries are recorded, never sent, and count as failed: the
// merchant first hears of the payment on the third delivery, 14 minutes
// later.
func TestNotifyFaultDropFirst(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	e.setFault("DROP", NotifyFault{DropFirst: 2})
	e.pay("DROP", 100)
	e.deliver()
	e.sb.Advance(4 * time.Minute)
	e.deliver()
	if n := len(e.rc.received()); n != 0 {
		t.Fatalf("%d deliveries of a dropped notify", n)
	}
	e.sb.Advance(10 * time.Minute)
	e.deliver()
	as := e.attempts("DROP")
	if len(as) != 3 || !as[0].Dropped || !as[1].Dropped || as[2].Dropped || !as[2].Acknowledged || as[0].Form != "" ||
		!as[2].Time.Equal(e.start.Add(14*time.Minute)) {
		t.Fatalf("attempts %+v", as)
	}
	if n := len(e.rc.received()); n != 1 {
		t.Errorf("%d deliveries", n)
	}
}

// Reorder holds a trade's notifies and sends them newest first: the
// merchant hears of the refund before the payment. Other trades are not
// held.
func TestNotifyFaultReorder(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	e.setFault("REORDER", NotifyFault{Reorder: 2})
	e.pay("REORDER", 1000)
	e.pay("OTHER", 1000)
	e.deliver()
	if got := e.rc.received(); len(got) != 1 || got[0].form.Get("out_trade_no") != "OTHER" {
		t.Fatalf("deliveries %v", got)
	}
	if ns := e.sb.Notifications(TestAppID); ns[0].State != NotifyHeld {
		t.Fatalf("%+v", ns[0])
	}
	e.refund("REORDER", "R1", 100)
	e.deliver()
	got := e.rc.received()
	if len(got) != 3 {
		t.Fatalf("%d deliveries", len(got))
	}
	first, second := e.verify(got[1]), e.verify(got[2])
	if !first.IsRefund() || first.RefundFee != 100 || second.IsRefund() || second.TradeStatus != alipay.TradeStatusSuccess {
		t.Errorf("order: %+v then %+v", first, second)
	}

	// Clearing the fault releases what is held, newest first.
	e.setFault("HELD", NotifyFault{Reorder: 3})
	e.pay("HELD", 1000)
	e.refund("HELD", "R1", 100)
	e.deliver()
	if n := len(e.rc.received()); n != 3 {
		t.Fatalf("%d deliveries while held", n)
	}
	e.sb.ClearNotifyFault(NotifyScope{AppID: TestAppID, OutTradeNo: "HELD"})
	e.deliver()
	got = e.rc.received()[3:]
	if len(got) != 2 || got[0].form.Get("out_biz_no") != "R1" || got[1].form.Has("out_biz_no") {
		t.Errorf("released %v", got)
	}
}

// The forged and broken notifies: what a merchant's check must refuse,
// and one (another amount) that only comparing the amount catches.
func TestNotifyFaultForgeries(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	for _, tc := range []struct {
		name  string
		fault NotifyFault
		check func(t *testing.T, r received, err error, n *alipay.Notification)
	}{
		{"bad signature", NotifyFault{BadSignature: true}, func(t *testing.T, r received, err error, _ *alipay.Notification) {
			if !errors.Is(err, alipay.ErrSignature) || r.form.Get("total_amount") != "12.34" {
				t.Errorf("%v %s", err, r.raw)
			}
		}},
		{"tampered amount", NotifyFault{TamperAmount: true}, func(t *testing.T, r received, err error, _ *alipay.Notification) {
			if !errors.Is(err, alipay.ErrSignature) || r.form.Get("total_amount") != "0.01" {
				t.Errorf("%v %s", err, r.raw)
			}
		}},
		{"other app", NotifyFault{ForgedOtherApp: true}, func(t *testing.T, r received, err error, _ *alipay.Notification) {
			if err == nil || errors.Is(err, alipay.ErrSignature) || !strings.Contains(err.Error(), "not this client's app") {
				t.Errorf("VerifyNotification: %v", err)
			}
			// Signed by Alipay all the same: only the app_id check refuses it.
			if err := alipay.VerifyNotify(e.sb.AlipayPublicKey(), r.form); err != nil || r.form.Get("app_id") == TestAppID ||
				r.form.Get("auth_app_id") != r.form.Get("app_id") {
				t.Errorf("VerifyNotify: %v, app_id %s", err, r.form.Get("app_id"))
			}
		}},
		{"other amount", NotifyFault{ForgedAmount: true}, func(t *testing.T, r received, err error, n *alipay.Notification) {
			if err != nil {
				t.Fatalf("a correctly signed forgery does not verify: %v", err)
			}
			if n.TotalAmount == 1234 || n.TotalAmount != n.BuyerPayAmount || n.TotalAmount != n.ReceiptAmount {
				t.Errorf("amounts %v %v %v", n.TotalAmount, n.BuyerPayAmount, n.ReceiptAmount)
			}
			bills, err := n.FundBills()
			if err != nil || len(bills) != 1 || bills[0].Amount != n.TotalAmount {
				t.Errorf("fund bills %v %v", bills, err)
			}
		}},
	} {
		no := "FORGE_" + strings.ReplaceAll(tc.name, " ", "_")
		e.setFault(no, tc.fault)
		e.pay(no, 1234)
		e.deliver()
		var r received
		for _, g := range e.rc.received() {
			if g.form.Get("out_trade_no") == no {
				r = g
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			n, err := e.client.VerifyNotification(r.form)
			tc.check(t, r, err, n)
			if as := e.attempts(no); len(as) != 1 || as[0].Fault != tc.fault {
				t.Errorf("attempts %+v", as)
			}
		})
	}
}

// A merchant that verifies refuses the bad signatures; once the fault is
// cleared the next retry is good and ends the notify. A trade's fault
// replaces its app's.
func TestNotifyFaultScopeAndClear(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, nil)
	client := e.client
	e.rc.mu.Lock()
	e.rc.answer = func(_ int, w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			return
		}
		if _, err := client.VerifyNotification(r.PostForm); err != nil {
			io.WriteString(w, "fail")
			return
		}
		io.WriteString(w, "success")
	}
	e.rc.mu.Unlock()
	app := NotifyScope{AppID: TestAppID}
	if err := e.sb.SetNotifyFault(app, NotifyFault{BadSignature: true}); err != nil {
		t.Fatal(err)
	}
	e.setFault("SC_2", NotifyFault{Duplicate: 1})
	e.pay("SC_1", 100)
	e.pay("SC_2", 100)
	e.deliver()
	if as := e.attempts("SC_1"); len(as) != 1 || as[0].Acknowledged || !as[0].Fault.BadSignature {
		t.Fatalf("SC_1 %+v", as)
	}
	if as := e.attempts("SC_2"); len(as) != 2 || !as[0].Acknowledged || as[0].Fault.BadSignature {
		t.Fatalf("SC_2 %+v", as)
	}
	if fs := e.sb.NotifyFaults(); len(fs) != 2 || fs[0].Scope != app || fs[1].Scope.OutTradeNo != "SC_2" {
		t.Errorf("faults %+v", fs)
	}
	e.sb.ClearNotifyFault(app)
	e.sb.Advance(4 * time.Minute)
	e.deliver()
	if as := e.attempts("SC_1"); len(as) != 2 || !as[1].Acknowledged || !as[1].Fault.IsZero() {
		t.Fatalf("SC_1 after clearing %+v", as)
	}
	for _, tc := range []struct {
		scope NotifyScope
		f     NotifyFault
	}{
		{NotifyScope{AppID: "nope"}, NotifyFault{Duplicate: 1}},
		{app, NotifyFault{Duplicate: -1}},
		{app, NotifyFault{Duplicate: maxDuplicates + 1}},
		{app, NotifyFault{Concurrent: true}},
		{app, NotifyFault{Reorder: 1}},
		{app, NotifyFault{Delay: -time.Second}},
		{app, NotifyFault{DropFirst: -1}},
	} {
		if err := e.sb.SetNotifyFault(tc.scope, tc.f); err == nil {
			t.Errorf("SetNotifyFault(%+v, %+v) took it", tc.scope, tc.f)
		}
	}
	if err := e.sb.SetNotifyFault(app, NotifyFault{}); err != nil || len(e.sb.NotifyFaults()) != 1 {
		t.Errorf("a zero fault clears: %v %v", err, e.sb.NotifyFaults())
	}
}
