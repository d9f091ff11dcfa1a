package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"zhifu/alipay"
)

// FaultKind says what an API fault does to the calls it matches.
type FaultKind string

// Kinds of Fault. Each rehearses a failure that real Alipay integrations
// meet and that a merchant's code must survive without losing or
// inventing money.
const (
	// FaultSystemError answers the call with ACQ.SYSTEM_ERROR without
	// running the method: nothing changes. With Fault.Code "40004" (the
	// default) the answer is 40004 Business Failed, sub_code
	// ACQ.SYSTEM_ERROR, as the trade APIs' documentation lists it among
	// their business errors; with Code "20000" it is 20000 Service
	// Currently Unavailable, sub_code isp.unknow-error, the gateway-level
	// form public samples also show. Which one Alipay sends when is
	// UNCONFIRMED (§11.5 of the protocol notes); both mean "outcome
	// unknown, retry with the same parameters", and alipay.IsUnknown is
	// true for both.
	FaultSystemError FaultKind = "system_error"

	// FaultHang holds the call before the method runs, past the client's
	// timeout: until the client gives up (its request context ends) or
	// Fault.Delay (default DefaultHangDelay) has passed. If the client
	// gave up, the method never runs and the connection is dropped: the
	// client saw a timeout, and nothing happened. If the client was still
	// waiting, the method runs and answers normally: a slow gateway.
	FaultHang FaultKind = "hang"

	// FaultLoseAnswer runs the method (the payment, refund or close takes
	// effect) and then loses its answer: with Fault.Delay zero the
	// connection is dropped at once; with a Delay the call is held until
	// the client gives up or Delay has passed, then dropped. The client
	// sees a timeout or a broken connection although the money moved: the
	// classic "timed out but went through", which only a query settles.
	FaultLoseAnswer FaultKind = "lose_answer"

	// FaultFundChangeN makes a refund that moved money answer
	// fund_change "N", the answer Alipay gives to a repeated refund that
	// moved nothing. The refund happened; only
	// alipay.trade.fastpay.refund.query (refund_status REFUND_SUCCESS)
	// shows it. A merchant who trusts code 10000 alone, or fund_change
	// alone, books it wrong. It applies to alipay.trade.refund only.
	FaultFundChangeN FaultKind = "fund_change_n"

	// FaultPayAfterClose lets the buyer pay a trade the merchant already
	// closed (by alipay.trade.close or cancel, or by expiry), from the
	// cashier page still open in the browser or with Sandbox.Pay: the
	// payment succeeds, the trade becomes TRADE_SUCCESS and the paid event
	// (and notify) follows. This is the "buyer paid on a stale page" race:
	// a payment already under way when the close arrived. How often and
	// through which paths Alipay lets it happen is UNCONFIRMED; merchants
	// are told to expect a TRADE_SUCCESS notify for an order they closed,
	// and to refund it. It applies to buyer payments, not to API methods,
	// so a Fault of this kind names no Method. A fully refunded trade
	// (closed after being paid) is never paid again.
	FaultPayAfterClose FaultKind = "pay_after_close"
)

// FaultKinds lists the kinds of Fault, in the order the dashboard shows
// them.
func FaultKinds() []FaultKind {
	return []FaultKind{FaultSystemError, FaultHang, FaultLoseAnswer, FaultFundChangeN, FaultPayAfterClose}
}

// DefaultHangDelay is how long FaultHang holds a call when Fault.Delay is
// zero: longer than any sensible client timeout (the alipay package's is
// 15 seconds), short enough that a forgotten fault frees its connections.
const DefaultHangDelay = 2 * time.Minute

// MaxFaultDelay bounds Fault.Delay.
const MaxFaultDelay = time.Hour

// maxFaults bounds the active faults, and maxFaultLog the injections kept
// (the oldest are forgotten first).
const (
	maxFaults   = 1000
	maxFaultLog = 1000
)

// Fault is an API fault: what goes wrong with the calls of an app, or of
// one of its trades, to one method or all of them. With Config.DataDir
// the active faults are saved and survive a restart (their injection
// record does not).
type Fault struct {
	// ID names the fault; SetFault assigns it ("f1", "f2", …).
	ID string
	// AppID is the app whose calls fail (required, a registered app).
	AppID string
	// OutTradeNo, when set, limits the fault to the calls about that trade
	// of the app (named by out_trade_no, or by its trade_no). Default: all
	// the app's calls.
	OutTradeNo string
	// Method, when set, limits the fault to calls of that gateway method,
	// such as "alipay.trade.refund". Default: every API method. The page
	// methods (alipay.trade.page.pay, alipay.trade.wap.pay) answer the
	// buyer's browser, not the merchant, and take no API fault.
	Method string
	// Kind is what the fault does.
	Kind FaultKind
	// Count, when above zero, makes the fault apply to the next Count
	// calls it matches, then disappear. Zero: until cleared.
	Count int
	// Delay is how long FaultHang and FaultLoseAnswer hold a call at most,
	// in real time (see each kind). Other kinds take none.
	Delay time.Duration
	// Code chooses the answer of FaultSystemError: "40004" (the default)
	// or "20000". Other kinds take none.
	Code string

	// Remaining is set in the faults Faults returns: how many more calls
	// the fault applies to (0 with Count 0: unlimited).
	Remaining int
	// Created is set by SetFault: when the fault was set, on the trade
	// clock.
	Created time.Time
}

// FaultInjection records one call a fault changed, for the dashboard and
// the control API.
type FaultInjection struct {
	// Time is when the fault acted, on the trade clock.
	Time time.Time
	// FaultID and Kind name the fault.
	FaultID string
	Kind    FaultKind
	// AppID, OutTradeNo and Method name the call (OutTradeNo is empty for
	// a call that named no trade).
	AppID      string
	OutTradeNo string
	Method     string
	// Action says what was done, such as "answered 40004 ACQ.SYSTEM_ERROR;
	// the method did not run".
	Action string
}

// FaultFieldError is the error SetFault returns for a Fault it refuses:
// it names the field, with the JSON name the control API uses.
type FaultFieldError struct {
	Field   string // such as "method"
	Message string
}

// Error returns the message, naming the field.
func (e *FaultFieldError) Error() string {
	return "sandbox: fault " + e.Field + ": " + e.Message
}

// faultSet holds a sandbox's active faults and the record of their
// injections. Its lock is taken after the trade store's, never before.
type faultSet struct {
	mu     sync.Mutex
	seq    uint64
	active []*Fault // in the order they were set
	log    []FaultInjection
}

// SetFault adds f and returns it with its ID and Created set. Faults of
// the same phase (before the method: system error and hang; after it:
// lose answer and fund_change N) do not combine on one call: the most
// specific wins (a trade's over its app's, one method's over all), then
// the oldest. Errors: the app is not registered (errors.Is errNoApp), or a
// *FaultFieldError.
func (s *Sandbox) SetFault(f Fault) (Fault, error) {
	if s.apps.get(f.AppID) == nil {
		if f.AppID == "" {
			return Fault{}, &FaultFieldError{"app_id", "is required"}
		}
		return Fault{}, fmt.Errorf("%w: %q", errNoApp, f.AppID)
	}
	if err := s.checkFault(&f); err != nil {
		return Fault{}, err
	}
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.active) >= maxFaults {
		return Fault{}, &FaultFieldError{"kind", fmt.Sprintf("the sandbox holds %d faults already; clear some first", maxFaults)}
	}
	fs.seq++
	f.ID = "f" + strconv.FormatUint(fs.seq, 10)
	f.Remaining = f.Count
	f.Created = s.clock.now()
	fs.active = append(fs.active, &f)
	s.stateChanged()
	s.log.Info("sandbox: fault set", "id", f.ID, "kind", f.Kind, "app_id", f.AppID, "out_trade_no", f.OutTradeNo, "method", f.Method, "count", f.Count)
	return f, nil
}

// checkFault validates f, filling in its defaults.
func (s *Sandbox) checkFault(f *Fault) error {
	bad := func(field, format string, a ...any) error {
		return &FaultFieldError{field, fmt.Sprintf(format, a...)}
	}
	if !slices.Contains(FaultKinds(), f.Kind) {
		return bad("kind", "%q is not one of %v", f.Kind, FaultKinds())
	}
	if len(f.OutTradeNo) > 64 {
		return bad("out_trade_no", "has more than 64 characters")
	}
	if f.Method != "" {
		spec := s.method[f.Method]
		switch {
		case spec == nil:
			return bad("method", "%q is not a method of the gateway", f.Method)
		case spec.api == nil:
			return bad("method", "%s answers the buyer's browser with the cashier, not the merchant: it takes no API fault", f.Method)
		}
	}
	if f.Count < 0 {
		return bad("count", "is negative")
	}
	if f.Delay < 0 || f.Delay > MaxFaultDelay {
		return bad("delay", "%v is not within 0 to %v", f.Delay, MaxFaultDelay)
	}
	if f.Delay != 0 && f.Kind != FaultHang && f.Kind != FaultLoseAnswer {
		return bad("delay", "only hang and lose_answer faults hold calls")
	}
	if f.Code != "" && f.Kind != FaultSystemError {
		return bad("code", "only system_error faults choose a code")
	}
	switch f.Kind {
	case FaultSystemError:
		switch f.Code {
		case "":
			f.Code = alipay.CodeBusinessFailed
		case alipay.CodeBusinessFailed, alipay.CodeUnknownError:
		default:
			return bad("code", "%q is neither %s nor %s", f.Code, alipay.CodeBusinessFailed, alipay.CodeUnknownError)
		}
	case FaultFundChangeN:
		if f.Method != "" && f.Method != methodRefund {
			return bad("method", "fund_change_n applies to %s only", methodRefund)
		}
		f.Method = methodRefund
	case FaultPayAfterClose:
		if f.Method != "" {
			return bad("method", "pay_after_close applies to the buyer's payments, not to an API method: leave method empty")
		}
	}
	return nil
}

// methodRefund is the method FaultFundChangeN applies to.
const methodRefund = "alipay.trade.refund"

// Faults returns the active faults, in the order they were set.
func (s *Sandbox) Faults() []Fault {
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, len(fs.active))
	for i, f := range fs.active {
		out[i] = *f
	}
	return out
}

// ClearFaults removes the faults of the given ids, or every fault when
// none is given, and returns how many it removed. A hang already holding a
// call goes on holding it.
func (s *Sandbox) ClearFaults(ids ...string) int {
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := len(fs.active)
	if len(ids) == 0 {
		fs.active = nil
	} else {
		fs.active = slices.DeleteFunc(fs.active, func(f *Fault) bool { return slices.Contains(ids, f.ID) })
	}
	if n != len(fs.active) {
		s.stateChanged()
	}
	return n - len(fs.active)
}

// FaultInjections returns the record of what faults did, oldest first
// (the last 1000).
func (s *Sandbox) FaultInjections() []FaultInjection {
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.log)
}

// record adds an injection to the log.
func (s *Sandbox) record(f Fault, outTradeNo, method, action string) {
	in := FaultInjection{
		Time: s.clock.now(), FaultID: f.ID, Kind: f.Kind,
		AppID: f.AppID, OutTradeNo: outTradeNo, Method: method, Action: action,
	}
	fs := &s.faults
	fs.mu.Lock()
	if len(fs.log) >= maxFaultLog {
		fs.log = slices.Delete(fs.log, 0, len(fs.log)-maxFaultLog+1)
	}
	fs.log = append(fs.log, in)
	fs.mu.Unlock()
	s.stateChanged() // the fault's Remaining may have changed
	s.log.Info("sandbox: fault injected", "id", f.ID, "kind", f.Kind, "app_id", f.AppID, "out_trade_no", outTradeNo, "method", method, "action", action)
}

// take finds the fault of one of kinds that matches a call and counts the
// call against it; ok is false when none does. tradeOf returns the
// out_trade_no of the call (returned with the fault, for the record); it
// is called only when a fault of the app may need it, and never under the
// set's lock.
func (s *Sandbox) take(kinds []FaultKind, appID, method string, tradeOf func() string) (Fault, string, bool) {
	fs := &s.faults
	fs.mu.Lock()
	found, scoped := false, false
	for _, f := range fs.active {
		if f.AppID == appID && slices.Contains(kinds, f.Kind) {
			found = true
			scoped = scoped || f.OutTradeNo != ""
		}
	}
	fs.mu.Unlock()
	if !found {
		return Fault{}, "", false
	}
	outTradeNo := ""
	if scoped {
		outTradeNo = tradeOf()
	}
	f, ok := s.pick(kinds, appID, method, outTradeNo)
	if ok && !scoped {
		outTradeNo = tradeOf()
	}
	return f, outTradeNo, ok
}

// pick finds the fault of take and counts the call against it.
func (s *Sandbox) pick(kinds []FaultKind, appID, method, outTradeNo string) (Fault, bool) {
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var best *Fault
	for _, f := range fs.active {
		if f.AppID != appID || !slices.Contains(kinds, f.Kind) ||
			(f.OutTradeNo != "" && f.OutTradeNo != outTradeNo) || (f.Method != "" && f.Method != method) {
			continue
		}
		if best == nil || f.specificity() > best.specificity() {
			best = f
		}
	}
	if best == nil {
		return Fault{}, false
	}
	if best.Count > 0 {
		best.Remaining--
		if best.Remaining == 0 {
			fs.active = slices.DeleteFunc(fs.active, func(f *Fault) bool { return f == best })
		}
	}
	return *best, true
}

// specificity ranks faults matching the same call: a trade's over its
// app's, then one method's over all methods.
func (f *Fault) specificity() int {
	n := 0
	if f.OutTradeNo != "" {
		n += 2
	}
	if f.Method != "" {
		n++
	}
	return n
}

// callTrade returns the out_trade_no a call names: its own, or that of
// the trade of its trade_no.
func (s *Sandbox) callTrade(c *call) string {
	if c.biz == nil {
		return ""
	}
	if no, _ := c.biz.text("out_trade_no"); no != "" {
		return no
	}
	tradeNo, _ := c.biz.text("trade_no")
	if tradeNo == "" {
		return ""
	}
	var no string
	s.store.run(c.now, func(x *tx) {
		if t := x.st.byTradeNo[tradeNo]; t != nil && t.order.appID == c.app.AppID {
			no = t.order.outTradeNo
		}
	})
	return no
}

// faultHooks returns the call hooks that inject API faults.
func (s *Sandbox) faultHooks() callHooks {
	return callHooks{before: s.faultBefore, after: s.faultAfter}
}

// faultBefore injects the faults that act before the method runs.
func (s *Sandbox) faultBefore(c *call) *reply {
	f, no, ok := s.take([]FaultKind{FaultSystemError, FaultHang}, c.app.AppID, c.method, func() string { return s.callTrade(c) })
	if !ok {
		return nil
	}
	if f.Kind == FaultSystemError {
		rep := bizError(alipay.SubCodeSystemError, "系统错误")
		if f.Code == alipay.CodeUnknownError {
			rep = newGatewayError(alipay.CodeUnknownError, "isp.unknow-error", "系统繁忙")
		}
		s.record(f, no, c.method, fmt.Sprintf("answered %s %s; the method did not run", rep.code, rep.subCode))
		return rep
	}
	d := f.Delay
	if d == 0 {
		d = DefaultHangDelay
	}
	held, gone := hold(c.r.Context(), d)
	if gone {
		s.record(f, no, c.method, fmt.Sprintf("held the call %v until the client gave up; the method did not run", held))
		panic(http.ErrAbortHandler)
	}
	s.record(f, no, c.method, fmt.Sprintf("held the call %v, then ran the method", held))
	return nil
}

// faultAfter injects the faults that act on the method's answer.
func (s *Sandbox) faultAfter(c *call, r *reply) *reply {
	kinds := []FaultKind{FaultLoseAnswer}
	moved := c.method == methodRefund && r.ok() && r.fields["fund_change"] == "Y"
	if moved {
		kinds = append(kinds, FaultFundChangeN)
	}
	f, no, ok := s.take(kinds, c.app.AppID, c.method, func() string { return s.callTrade(c) })
	if !ok {
		return r
	}
	if f.Kind == FaultFundChangeN {
		r.fields["fund_change"] = "N"
		s.record(f, no, c.method, fmt.Sprintf("the refund moved money (refund_fee now %v) but answered fund_change N", r.fields["refund_fee"]))
		return r
	}
	outcome := "answered " + r.code
	if r.subCode != "" {
		outcome += " " + r.subCode
	}
	if f.Delay == 0 {
		s.record(f, no, c.method, "ran the method ("+outcome+"), then dropped the connection without an answer")
		panic(http.ErrAbortHandler)
	}
	held, gone := hold(c.r.Context(), f.Delay)
	why := "until the client gave up"
	if !gone {
		why = "(the client was still waiting)"
	}
	s.record(f, no, c.method, fmt.Sprintf("ran the method (%s), held the call %v %s, then dropped the connection without an answer", outcome, held, why))
	panic(http.ErrAbortHandler)
}

// hold waits until ctx is done (gone) or d has passed, and returns how
// long it waited, rounded. It leaves no timer or goroutine behind.
func hold(ctx context.Context, d time.Duration) (held time.Duration, gone bool) {
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		gone = true
	case <-t.C:
	}
	return time.Since(start).Round(time.Millisecond), gone
}

// latePay reports whether a PayAfterClose fault lets the buyer pay the
// closed trade t, counting the payment against it. It runs under the
// trade store's lock.
func (s *Sandbox) latePay(t *trade) bool {
	if t.status != alipay.TradeStatusClosed || !t.gmtPayment.IsZero() {
		return false
	}
	f, _, ok := s.take([]FaultKind{FaultPayAfterClose}, t.order.appID, "", func() string { return t.order.outTradeNo })
	if !ok {
		return false
	}
	s.record(f, t.order.outTradeNo, "", "the buyer paid the trade closed at "+t.gmtClose.In(beijing).Format(time.RFC3339)+" (stale page): TRADE_SUCCESS")
	return true
}
