package sandbox

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
)

// sandboxGoroutines counts the goroutines running the sandbox's
// background code (the clock's loop, workers, concurrent copies).
func sandboxGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "zhifu/sandbox.(*notifier)") || strings.Contains(g, "zhifu/sandbox.(*clock).run") {
			count++
		}
	}
	return count
}

// Stop cancels a delivery under way (the merchant hangs), records it and
// leaves no goroutine behind. Not parallel: it counts every goroutine of
// the package's code, and parallel tests run only after it.
func TestStopLeavesNoGoroutines(t *testing.T) {
	if n := sandboxGoroutines(); n != 0 {
		t.Fatalf("%d sandbox goroutines before the test", n)
	}
	e := newNotifyEnv(t, Config{}, func(_ int, _ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	e.setFault("HANG", NotifyFault{Duplicate: 2, Concurrent: true})
	e.pay("HANG", 100)
	for range 3 {
		<-e.rc.arrived // the deliveries are under way
	}
	if n := sandboxGoroutines(); n < DefaultNotifyWorkers+1+3 {
		t.Fatalf("%d sandbox goroutines while delivering: the count is blind", n)
	}
	stopped := make(chan struct{})
	go func() {
		e.sb.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second): // a guard, far below the 15 s notify timeout
		t.Fatal("Stop did not return while a delivery hung")
	}
	if n := sandboxGoroutines(); n != 0 {
		t.Errorf("%d sandbox goroutines after Stop", n)
	}
	as := e.attempts("HANG")
	if len(as) != 3 || !strings.Contains(as[0].Error, "context canceled") {
		t.Errorf("attempts %+v", as)
	}
	e.sb.Stop() // twice is fine
	if err := e.sb.DeliverDue(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("DeliverDue after Stop: %v", err)
	}
	if err := e.sb.ResendNotify(as[0].NotifyID); !errors.Is(err, ErrClosed) {
		t.Errorf("ResendNotify after Stop: %v", err)
	}
	e.pay("AFTER", 100) // the gateway still works; nothing is sent
	if ns := e.sb.Notifications(TestAppID); len(ns) != 1 {
		t.Errorf("notifications after Stop: %+v", ns)
	}
}

// On the real clock, a tiny schedule runs out by itself.
func TestNotifyRealClock(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "fail") })
	ts := newTestServer(t, Config{NotifySchedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}})
	e := &notifyEnv{env: &env{t: t, ts: ts, client: ts.Client()}, sb: ts.Sandbox, rc: rc}
	e.pay("REAL", 100)
	for i := range 4 {
		select {
		case <-rc.arrived:
		case <-time.After(10 * time.Second): // a guard
			t.Fatalf("delivery %d did not come", i+1)
		}
	}
	e.deliver() // the 4th is recorded
	as := e.attempts("REAL")
	if len(as) != 4 {
		t.Fatalf("%d attempts", len(as))
	}
	ns := e.sb.Notifications(TestAppID)
	if ns[0].State != NotifyGaveUp {
		t.Errorf("%+v", ns[0])
	}
	// Retries are due at the schedule's times after the notify was made.
	for i, a := range as {
		if due := ns[0].CreatedAt.Add(time.Duration(i) * 10 * time.Millisecond); a.Time.Before(due) {
			t.Errorf("delivery %d came at %v, before %v", i+1, a.Time, due)
		}
	}
}

// The notifies of one trade are delivered one at a time, in order; those
// of different trades at the same time.
func TestNotifyLanes(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		inFlight = map[string]int{}
		overlap  []string
		bCame    = make(chan struct{})
	)
	e := newNotifyEnv(t, Config{}, func(i int, w http.ResponseWriter, r *http.Request) {
		no := r.PostFormValue("out_trade_no")
		mu.Lock()
		if inFlight[no]++; inFlight[no] > 1 {
			overlap = append(overlap, no)
		}
		mu.Unlock()
		defer func() {
			mu.Lock()
			inFlight[no]--
			mu.Unlock()
		}()
		switch {
		case no == "LANE_B":
			close(bCame)
		case i == 0: // LANE_A's first notify waits for LANE_B's
			select {
			case <-bCame:
			case <-time.After(5 * time.Second): // a guard: trades were delivered one after the other
				io.WriteString(w, "alone")
				return
			}
		}
		io.WriteString(w, "success")
	})
	e.pay("LANE_A", 1000)
	e.refund("LANE_A", "R1", 100)
	e.refund("LANE_A", "R2", 100)
	e.pay("LANE_B", 1000)
	e.deliver()
	as := e.attempts("LANE_A")
	if len(as) != 3 || !as[0].Acknowledged {
		t.Fatalf("LANE_A %+v", as)
	}
	var order []string
	for _, r := range e.rc.received() {
		if r.form.Get("out_trade_no") == "LANE_A" {
			order = append(order, r.form.Get("out_biz_no"))
		}
	}
	if strings.Join(order, ",") != ",R1,R2" {
		t.Errorf("LANE_A's notifies came in the order %q", order)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(overlap) > 0 {
		t.Errorf("notifies of one trade overlapped: %v", overlap)
	}
}

func TestClockTimers(t *testing.T) {
	t.Parallel()
	base := time.Date(2024, 5, 20, 12, 0, 0, 0, beijing)
	c := newClock(func() time.Time { return base })
	var fired []string
	c.afterFunc(base.Add(2*time.Second), func() { fired = append(fired, "b") })
	c.afterFunc(base.Add(time.Second), func() { fired = append(fired, "a") })
	c.afterFunc(base.Add(2*time.Second), func() { fired = append(fired, "c") })
	stopped := c.afterFunc(base.Add(time.Second), func() { fired = append(fired, "stopped") })
	if !c.stop(stopped) || c.stop(stopped) {
		t.Error("stop")
	}
	c.advance(time.Second - 1)
	if len(fired) != 0 || c.hasDue() {
		t.Fatalf("fired early: %v", fired)
	}
	c.advance(1)
	if strings.Join(fired, "") != "a" {
		t.Fatalf("fired %v", fired)
	}
	c.advance(-time.Hour) // never back
	c.advance(time.Hour)
	if strings.Join(fired, "") != "abc" {
		t.Fatalf("fired %v", fired)
	}
	// A timer set by a timer that is due already fires in the same go.
	c.afterFunc(c.now(), func() { c.afterFunc(c.now(), func() { fired = append(fired, "d") }) })
	c.advance(0)
	if strings.Join(fired, "") != "abcd" {
		t.Fatalf("fired %v", fired)
	}
}

func TestNotifyConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{TimeScale: -1},
		{TimeScale: math.NaN()},
		{TimeScale: math.Inf(1)},
		{NotifySchedule: []time.Duration{time.Minute, -time.Second}},
		{NotifyTimeout: -time.Second},
		{NotifyWorkers: -1},
	} {
		if sb, err := New(cfg); err == nil {
			sb.Stop()
			t.Errorf("New(%+v) took it", cfg)
		}
	}
	schedule := []time.Duration{time.Minute}
	table := NotifyTable{"": {EventPaid}}
	sb, err := New(Config{NotifySchedule: schedule, NotifyTable: table, TimeScale: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Stop()
	schedule[0] = time.Hour
	table[""][0] = EventClosed
	if d := sb.NotifyDelays(); len(d) != 1 || d[0] != 30*time.Second {
		t.Errorf("delays %v", d)
	}
	if !sb.cfg.NotifyTable.notifies("X", EventPaid) {
		t.Error("the caller changed the sandbox's table")
	}
}

// The test server's notifies never leave the machine.
func TestTestServerNotifiesOnlyLoopback(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	if _, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: "FAR", AuthCode: AuthCodeSuccess, TotalAmount: 1,
		Subject: "x", NotifyURL: "https://shop.example.com/notify"}); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	as := e.attempts("FAR")
	if len(as) != 1 || !strings.Contains(as[0].Error, "only to loopback") || as[0].StatusCode != 0 {
		t.Errorf("attempts %+v", as)
	}
}
