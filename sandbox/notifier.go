package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"zhifu/alipay"
)

// NotifyState is where a notify stands.
type NotifyState string

// States of a Notification.
const (
	NotifyPending      NotifyState = "pending"      // its next delivery is scheduled or under way
	NotifyHeld         NotifyState = "held"         // held by a Reorder fault
	NotifyAcknowledged NotifyState = "acknowledged" // the merchant answered "success"
	NotifyGaveUp       NotifyState = "gave_up"      // the retry schedule ran out
)

// Notification is one async notify (trade_status_sync) of a trade event,
// as the sandbox holds it: one notify_id, delivered until the merchant
// acknowledges it or the retry schedule runs out.
type Notification struct {
	NotifyID    string
	AppID       string
	OutTradeNo  string
	TradeNo     string
	EventSeq    uint64    // the Event.Seq it reports
	Kind        EventKind // what happened to the trade
	TradeStatus alipay.TradeStatus
	NotifyURL   string
	CreatedAt   time.Time // on the sandbox clock
	State       NotifyState
	// Attempts counts its deliveries so far, dropped ones included and
	// copies of a duplicated delivery not.
	Attempts int
	// NextAttemptAt is when the next scheduled delivery is due; zero when
	// none is.
	NextAttemptAt time.Time
	// Params are the parameters of the notify (Event.NotifyParams and
	// notify_id), without those of each delivery: notify_time, sign_type
	// and sign.
	Params url.Values
}

// NotifyAttempt is one delivery of a notify to the merchant's notify_url,
// as the sandbox recorded it.
type NotifyAttempt struct {
	NotifyID   string
	AppID      string
	OutTradeNo string
	// Attempt numbers the deliveries of the notify from 1.
	Attempt int
	// Copy is 0 for the delivery itself and 1 onwards for the copies a
	// Duplicate fault sent with it.
	Copy int
	// Manual is set on a delivery made by ResendNotify.
	Manual bool
	// Time is when it was sent, on the sandbox clock.
	Time time.Time
	URL  string
	// Form is the body sent, form-encoded; empty when dropped.
	Form string
	// StatusCode is the HTTP status of the answer; 0 without one.
	StatusCode int
	// Body is the start of the answer's body, at most 1 KiB of it.
	Body          string
	BodyTruncated bool
	// Latency is the real time from sending to the end of the answer.
	Latency time.Duration
	// Error says why no answer came (timeout, refused connection), or
	// that the delivery was dropped by a fault.
	Error string
	// Dropped is set when a DropFirst fault lost the delivery: nothing
	// was sent.
	Dropped bool
	// Acknowledged is set when the answer was HTTP 200 with the body
	// exactly "success": the notify is done.
	Acknowledged bool
	// Fault is the fault that applied to the delivery, if any.
	Fault NotifyFault
	// Delay is how long a Delay fault held the delivery.
	Delay time.Duration
}

// ErrClosed is returned by calls on a stopped Sandbox that need its
// notifier.
var ErrClosed = errors.New("sandbox: stopped")

// notifier delivers the async notifies of trade events (see
// Sandbox.Notifications). The deliveries of one trade are made one at a
// time, in the order they come due (notifies of a trade arrive in the
// order of its events unless a fault reorders them; Alipay does not
// promise an order); those of different trades run concurrently on
// Config.NotifyWorkers goroutines.
type notifier struct {
	cfg   *Config
	clock *clock
	apps  *appRegistry
	log   *slog.Logger

	ctx    context.Context // canceled by close: deliveries under way give up
	cancel context.CancelFunc
	stop   chan struct{} // stops the clock's run loop
	wg     sync.WaitGroup

	mu       sync.Mutex
	cond     *sync.Cond // on mu: a lane is ready, or closed
	closed   bool
	all      []*notification // in the order they were made
	byID     map[string]*notification
	attempts map[tradeKey][]NotifyAttempt
	faults   map[NotifyScope]NotifyFault
	held     map[tradeKey][]*notification // by a Reorder fault, oldest first
	lanes    map[tradeKey]*lane
	ready    []*lane       // lanes with a due delivery and no worker
	pending  int           // deliveries due or under way
	idle     chan struct{} // closed when pending falls to 0; nil while 0

	// onChange is told, under mu, of every change worth saving (a notify
	// made or settled, a delivery scheduled, a fault set); it must not
	// block. Set before start; nil: nobody listens.
	onChange func()
}

// notification is a Notification with its scheduling state.
type notification struct {
	Notification
	key   tradeKey
	retry int         // scheduled deliveries made
	timer *clockTimer // of the next scheduled delivery, while waiting
	next  *job        // the next scheduled delivery, until a worker takes it
}

// job is one delivery to make: scheduled (the retry schedule) or manual.
type job struct {
	n       *notification
	due     time.Time // when it was scheduled for, before any Delay fault
	manual  bool
	delay   time.Duration // the Delay fault that held it
	delayed bool
}

// lane queues the due deliveries of one trade; one worker at a time
// takes them, in order.
type lane struct {
	key  tradeKey
	jobs []*job
	busy bool // in ready or with a worker
}

func newNotifier(cfg *Config, c *clock, apps *appRegistry) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{
		cfg: cfg, clock: c, apps: apps, log: cfg.Logger,
		ctx: ctx, cancel: cancel, stop: make(chan struct{}),
		byID:     make(map[string]*notification),
		attempts: make(map[tradeKey][]NotifyAttempt),
		faults:   make(map[NotifyScope]NotifyFault),
		held:     make(map[tradeKey][]*notification),
		lanes:    make(map[tradeKey]*lane),
	}
	n.cond = sync.NewCond(&n.mu)
	return n
}

// start runs the clock's loop and the workers.
func (n *notifier) start() {
	n.wg.Go(func() { n.clock.run(n.stop) })
	for range n.cfg.NotifyWorkers {
		n.wg.Go(n.work)
	}
}

// close stops the notifier: deliveries under way are canceled (and
// recorded so), none is scheduled any more, and close returns when every
// goroutine of the notifier has ended.
func (n *notifier) close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		n.wg.Wait()
		return
	}
	n.closed = true
	for _, nt := range n.all {
		if nt.timer != nil {
			n.clock.stop(nt.timer)
			nt.timer = nil
		}
	}
	n.cond.Broadcast()
	n.mu.Unlock()
	n.cancel()
	close(n.stop)
	n.wg.Wait()
}

// Stop stops the sandbox's background work (Close is taken by
// alipay.trade.close): notifies under way are canceled and recorded so,
// and no more are sent; trades expire only when looked at or on Advance.
// With Config.DataDir the state is then written a last time; the error
// says when that failed. It returns when every goroutine the sandbox
// started has ended. The gateway keeps answering. Stopping twice does
// nothing more.
func (s *Sandbox) Stop() error {
	s.notifier.close()
	return s.saver.shutdown()
}

// handle makes the notify of ev, if its trade's product notifies events of
// its kind and the trade has a notify_url.
func (n *notifier) handle(ev Event) {
	t := ev.Trade
	if t.NotifyURL == "" || !n.cfg.NotifyTable.notifies(t.ProductCode, ev.Kind) {
		return
	}
	now := n.clock.now()
	id, err := newNotifyID(now)
	if err != nil {
		n.log.Debug("sandbox: no notify", "out_trade_no", t.OutTradeNo, "error", err)
		return
	}
	params := ev.NotifyParams()
	params.Set("notify_id", id)
	nt := &notification{
		Notification: Notification{
			NotifyID: id, AppID: t.AppID, OutTradeNo: t.OutTradeNo, TradeNo: t.TradeNo,
			EventSeq: ev.Seq, Kind: ev.Kind, TradeStatus: t.Status, NotifyURL: t.NotifyURL,
			CreatedAt: now, State: NotifyPending, Params: params,
		},
		key: tradeKey{t.AppID, t.OutTradeNo},
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.all = append(n.all, nt)
	n.byID[id] = nt
	n.changedLocked()
	if f := n.faultLocked(nt.key); f.Reorder >= 2 {
		nt.State = NotifyHeld
		n.held[nt.key] = append(n.held[nt.key], nt)
		if len(n.held[nt.key]) >= f.Reorder {
			n.releaseLocked(nt.key)
		}
		return
	}
	n.scheduleLocked(&job{n: nt, due: now}, now)
}

// changedLocked tells onChange that the notifier's state changed.
func (n *notifier) changedLocked() {
	if n.onChange != nil {
		n.onChange()
	}
}

// releaseLocked starts the notifies held for a trade, newest first.
func (n *notifier) releaseLocked(key tradeKey) {
	n.changedLocked()
	hs := n.held[key]
	delete(n.held, key)
	now := n.clock.now()
	for i := len(hs) - 1; i >= 0; i-- {
		hs[i].State = NotifyPending
		n.scheduleLocked(&job{n: hs[i], due: now}, now)
	}
}

// scheduleLocked makes j due at at: now, or by a timer of the clock.
func (n *notifier) scheduleLocked(j *job, at time.Time) {
	if !j.manual {
		j.n.NextAttemptAt = at
		j.n.next = j
	}
	if !at.After(n.clock.now()) {
		n.dueLocked(j)
		return
	}
	t := n.clock.afterFunc(at, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if !j.manual {
			j.n.timer = nil
		}
		n.dueLocked(j)
	})
	if !j.manual {
		j.n.timer = t
	}
}

// dueLocked queues the due delivery j on its trade's lane, unless a Delay
// fault holds it first.
func (n *notifier) dueLocked(j *job) {
	if n.closed {
		return
	}
	if f := n.faultLocked(j.n.key); f.Delay > 0 && !j.delayed {
		j.delayed, j.delay = true, f.Delay
		n.scheduleLocked(j, n.clock.now().Add(f.Delay))
		return
	}
	l := n.lanes[j.n.key]
	if l == nil {
		l = &lane{key: j.n.key}
		n.lanes[l.key] = l
	}
	l.jobs = append(l.jobs, j)
	if n.pending == 0 {
		n.idle = make(chan struct{})
	}
	n.pending++
	if !l.busy {
		l.busy = true
		n.ready = append(n.ready, l)
		n.cond.Signal()
	}
}

// Notifications returns the notifies of appID's trades, in the order they
// were made.
func (s *Sandbox) Notifications(appID string) []Notification {
	n := s.notifier
	n.mu.Lock()
	defer n.mu.Unlock()
	var ns []Notification
	for _, nt := range n.all {
		if nt.AppID == appID {
			ns = append(ns, nt.export())
		}
	}
	return ns
}

// Notification returns the notify of notifyID.
func (s *Sandbox) Notification(notifyID string) (Notification, bool) {
	n := s.notifier
	n.mu.Lock()
	defer n.mu.Unlock()
	nt := n.byID[notifyID]
	if nt == nil {
		return Notification{}, false
	}
	return nt.export(), true
}

// NotifyAttempts returns the deliveries of the notifies of appID's trade
// outTradeNo, in the order they were made.
func (s *Sandbox) NotifyAttempts(appID, outTradeNo string) []NotifyAttempt {
	n := s.notifier
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]NotifyAttempt(nil), n.attempts[tradeKey{appID, outTradeNo}]...)
}

// ResendNotify delivers the notify of notifyID now, whatever its state (a
// merchant may want an acknowledged notify again), outside its retry
// schedule: a failure changes no scheduled time, an acknowledgement ends
// the retries.
func (s *Sandbox) ResendNotify(notifyID string) error {
	n := s.notifier
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	nt := n.byID[notifyID]
	if nt == nil {
		return fmt.Errorf("sandbox: no notify %q", notifyID)
	}
	now := n.clock.now()
	n.scheduleLocked(&job{n: nt, due: now, manual: true}, now)
	return nil
}

// DeliverDue fires every timer due on the sandbox clock (notify retries,
// trade expiries) and returns once every delivery due has been made and
// recorded: what a test calls after Advance to see the effects, without
// waiting on the wall clock. It must not be called from Config.OnEvent.
func (s *Sandbox) DeliverDue(ctx context.Context) error {
	n := s.notifier
	for {
		select {
		case <-n.clock.fireDue():
		case <-ctx.Done():
			return ctx.Err()
		}
		n.mu.Lock()
		closed, idle := n.closed, n.idle
		n.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if idle != nil {
			select {
			case <-idle:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if !n.clock.hasDue() {
			return nil
		}
	}
}

// export copies nt.
func (nt *notification) export() Notification {
	c := nt.Notification
	c.Params = cloneValues(nt.Params)
	return c
}

// cloneValues returns a deep copy of v.
func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
