package sandbox

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"time"

	"zhifu/alipay"
)

// NotifyScope names what a notify fault applies to: every notify of an app
// (OutTradeNo empty), or those of one trade. A trade's fault replaces its
// app's; they are not combined.
type NotifyScope struct {
	AppID      string `json:"app_id"`
	OutTradeNo string `json:"out_trade_no,omitempty"`
}

// NotifyFault is what goes wrong with the notifies of a scope: the
// failures a merchant's notify handler must survive. The zero NotifyFault
// is no fault. Faults are read at each delivery, so a fault set or cleared
// changes the retries of notifies already pending.
type NotifyFault struct {
	// Duplicate sends every delivery this many extra times, one after the
	// other (or all at once with Concurrent). The notify counts as
	// acknowledged if any copy is.
	Duplicate int `json:"duplicate,omitempty"`
	// Concurrent sends the copies of Duplicate at the same instant, each
	// from its own goroutine: the merchant's handler runs them in
	// parallel.
	Concurrent bool `json:"concurrent,omitempty"`
	// Delay holds every delivery this long on the sandbox clock (not
	// multiplied by Config.TimeScale) before sending it. The retry
	// schedule keeps its times.
	Delay time.Duration `json:"delay,omitempty"`
	// DropFirst loses the first DropFirst deliveries of each notify: they
	// are recorded as dropped and count as failed, but nothing is sent, as
	// a notify lost on the way.
	DropFirst int `json:"drop_first,omitempty"`
	// Reorder holds this many notifies of a trade (at least 2), then sends
	// them newest first: a refund notify before the payment's. Clearing
	// the fault releases notifies still held, newest first.
	Reorder int `json:"reorder,omitempty"`
	// BadSignature sends a signature that does not verify (one bit of it
	// flipped).
	BadSignature bool `json:"bad_signature,omitempty"`
	// TamperAmount changes total_amount after signing, as a forger on the
	// way would: the signature no longer verifies.
	TamperAmount bool `json:"tamper_amount,omitempty"`
	// ForgedOtherApp sends the notify with the app_id (and auth_app_id) of
	// another app, correctly signed by the sandbox's Alipay key: a notify
	// of another app or environment that the merchant must refuse by its
	// app_id.
	ForgedOtherApp bool `json:"forged_other_app,omitempty"`
	// ForgedAmount sends a different total_amount (and paid amounts),
	// correctly signed by the sandbox's Alipay key: the signature
	// verifies, and only comparing the amount with the order's catches
	// it.
	ForgedAmount bool `json:"forged_amount,omitempty"`
}

// IsZero reports whether f is no fault.
func (f NotifyFault) IsZero() bool { return f == NotifyFault{} }

// check validates f. A refusal is a *FaultFieldError naming the field by
// its JSON name.
func (f NotifyFault) check() error {
	bad := func(field, format string, a ...any) error {
		return &FaultFieldError{field, fmt.Sprintf(format, a...)}
	}
	switch {
	case f.Duplicate < 0 || f.Duplicate > maxDuplicates:
		return bad("duplicate", "%d is not within 0 to %d", f.Duplicate, maxDuplicates)
	case f.Concurrent && f.Duplicate == 0:
		return bad("concurrent", "needs duplicate: the copies are what is sent concurrently")
	case f.Delay < 0 || f.Delay > MaxNotifyFaultDelay:
		return bad("delay", "%v is not within 0 to %v", f.Delay, MaxNotifyFaultDelay)
	case f.DropFirst < 0:
		return bad("drop_first", "is negative")
	case f.Reorder < 0 || f.Reorder == 1:
		return bad("reorder", "%d: hold at least 2 notifies, or 0", f.Reorder)
	}
	return nil
}

// MaxNotifyFaultDelay bounds NotifyFault.Delay: longer than Alipay's whole
// retry schedule.
const MaxNotifyFaultDelay = 48 * time.Hour

// maxDuplicates bounds NotifyFault.Duplicate, and so the goroutines of
// concurrent copies.
const maxDuplicates = 100

// ScopedNotifyFault is a fault with its scope, as NotifyFaults lists them.
type ScopedNotifyFault struct {
	Scope NotifyScope `json:"scope"`
	Fault NotifyFault `json:"fault"`
}

// SetNotifyFault sets the notify fault of scope, replacing the one it had.
// A zero fault clears it (see ClearNotifyFault).
func (s *Sandbox) SetNotifyFault(scope NotifyScope, f NotifyFault) error {
	if s.apps.get(scope.AppID) == nil {
		return fmt.Errorf("%w: %q", errNoApp, scope.AppID)
	}
	if err := f.check(); err != nil {
		return err
	}
	if f.IsZero() {
		s.ClearNotifyFault(scope)
		return nil
	}
	n := s.notifier
	n.mu.Lock()
	n.faults[scope] = f
	n.changedLocked()
	n.mu.Unlock()
	return nil
}

// ClearNotifyFault removes the notify fault of scope (not those of the
// trades of an app scope). Notifies the fault held for reordering are
// released, newest first.
func (s *Sandbox) ClearNotifyFault(scope NotifyScope) {
	n := s.notifier
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.faults, scope)
	n.changedLocked()
	for key := range n.held {
		if key.appID == scope.AppID && (scope.OutTradeNo == "" || key.outTradeNo == scope.OutTradeNo) &&
			n.faultLocked(key).Reorder == 0 {
			n.releaseLocked(key)
		}
	}
}

// NotifyFaults returns the notify faults set, by app and trade.
func (s *Sandbox) NotifyFaults() []ScopedNotifyFault {
	n := s.notifier
	n.mu.Lock()
	defer n.mu.Unlock()
	fs := make([]ScopedNotifyFault, 0, len(n.faults))
	for sc, f := range n.faults {
		fs = append(fs, ScopedNotifyFault{sc, f})
	}
	slices.SortFunc(fs, func(a, b ScopedNotifyFault) int {
		return cmp.Or(cmp.Compare(a.Scope.AppID, b.Scope.AppID), cmp.Compare(a.Scope.OutTradeNo, b.Scope.OutTradeNo))
	})
	return fs
}

// faultLocked returns the fault of a trade's notifies: the trade's, else
// its app's.
func (n *notifier) faultLocked(key tradeKey) NotifyFault {
	if f, ok := n.faults[NotifyScope{key.appID, key.outTradeNo}]; ok {
		return f
	}
	return n.faults[NotifyScope{AppID: key.appID}]
}

// otherAmount returns an amount other than a, for forged and tampered
// notifies: one fen, the classic cheat, unless a is one fen.
func otherAmount(a alipay.Amount) alipay.Amount {
	if a == 1 {
		return 100
	}
	return 1
}

// forge applies the faults that change what is signed: another app, or
// another amount (the paid amounts and fund_bill_list follow it).
func forge(p url.Values, f NotifyFault, otherApp string) {
	if f.ForgedOtherApp {
		p.Set("app_id", otherApp)
		p.Set("auth_app_id", otherApp)
	}
	if f.ForgedAmount {
		total, err := alipay.ParseAmount(p.Get("total_amount"))
		if err != nil {
			return
		}
		forged := otherAmount(total)
		p.Set("total_amount", forged.String())
		for _, k := range []string{"receipt_amount", "invoice_amount", "buyer_pay_amount"} {
			if p.Has(k) {
				p.Set(k, forged.String())
			}
		}
		if p.Has("fund_bill_list") {
			p.Set("fund_bill_list", fundBillListNotify(forged))
		}
	}
}

// tamper applies the faults that break the signature after signing.
func tamper(p url.Values, f NotifyFault) {
	if f.BadSignature {
		p.Set("sign", flipBit(p.Get("sign")))
	}
	if f.TamperAmount {
		if total, err := alipay.ParseAmount(p.Get("total_amount")); err == nil {
			p.Set("total_amount", otherAmount(total).String())
		}
	}
}

// flipBit flips the lowest bit of the first byte of a base64 signature.
func flipBit(sign string) string {
	b, err := base64.StdEncoding.DecodeString(sign)
	if err != nil || len(b) == 0 {
		return sign + "A"
	}
	b[0] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}
