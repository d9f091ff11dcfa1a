package sandbox

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"zhifu/alipay"
)

// DefaultNotifySchedule returns Alipay's retry schedule of an async notify
// that was not acknowledged (§5.5 of the protocol notes): the waits between
// consecutive deliveries, 4m, 10m, 10m, 1h, 2h, 6h and 15h, 8 deliveries
// within about 25 hours in all. Antom's documents give 2m as the first
// wait; Alipay's own 4m.
func DefaultNotifySchedule() []time.Duration {
	return []time.Duration{
		4 * time.Minute, 10 * time.Minute, 10 * time.Minute,
		time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour,
	}
}

// DefaultNotifyTimeout is how long the sandbox waits for the merchant to
// answer one delivery. Alipay's timeout is UNCONFIRMED; 15 seconds is
// generous for a handler that only stores the notify.
const DefaultNotifyTimeout = 15 * time.Second

// DefaultNotifyWorkers is how many deliveries the sandbox makes at once.
const DefaultNotifyWorkers = 8

// NotifyTable says which events send an async notify, by the trade's
// product_code. A product missing from the table uses the entry of the
// empty product code "", and without one sends no notify.
type NotifyTable map[string][]EventKind

// notifies reports whether an event of kind about a trade of product
// notifies.
func (t NotifyTable) notifies(product string, kind EventKind) bool {
	kinds, ok := t[product]
	if !ok {
		kinds = t[""]
	}
	return slices.Contains(kinds, kind)
}

// DefaultNotifyTable returns the table the sandbox uses when
// Config.NotifyTable is nil, after what Alipay is reported to do
// (developer.aliyun.com/ask/285132; §6.3 of the protocol notes):
//
//   - page pay (FAST_INSTANT_TRADE_PAY): TRADE_SUCCESS only, by default —
//     no notify when an unpaid trade closes or the refund period ends;
//   - wap and app pay (QUICK_WAP_WAY, QUICK_MSECURITY_PAY): TRADE_SUCCESS,
//     TRADE_CLOSED and TRADE_FINISHED;
//   - face to face (FACE_TO_FACE_PAYMENT, QR_CODE_OFFLINE) and JSAPI_PAY:
//     TRADE_SUCCESS;
//   - any other product: every change but the trade's creation
//     (WAIT_BUYER_PAY never notifies).
//
// Every product also notifies refunds (a partial refund as TRADE_SUCCESS
// with refund_fee, a full one as TRADE_CLOSED): UNCONFIRMED whether every
// product and every API refund notifies at Alipay (§7.4), but merchants
// must handle these notifies, so the sandbox sends them.
func DefaultNotifyTable() NotifyTable {
	pay := []EventKind{EventPaid, EventRefunded}
	all := []EventKind{EventPaid, EventRefunded, EventClosed, EventFinished}
	return NotifyTable{
		alipay.ProductCodePagePay:    pay,
		alipay.ProductCodeWapPay:     all,
		alipay.ProductCodeAppPay:     all,
		alipay.ProductCodeFaceToFace: pay,
		"QR_CODE_OFFLINE":            pay,
		alipay.ProductCodeJSAPIPay:   pay,
		"":                           all,
	}
}

// validateNotify fills in and checks the notify fields of cfg.
func (cfg *Config) validateNotify() error {
	if cfg.NotifySchedule == nil {
		cfg.NotifySchedule = DefaultNotifySchedule()
	} else {
		cfg.NotifySchedule = slices.Clone(cfg.NotifySchedule)
	}
	for i, d := range cfg.NotifySchedule {
		if d < 0 {
			return fmt.Errorf("sandbox: Config.NotifySchedule[%d] is negative (%v)", i, d)
		}
	}
	switch s := cfg.TimeScale; {
	case s == 0:
		cfg.TimeScale = 1
	case s < 0 || math.IsNaN(s) || math.IsInf(s, 0):
		return fmt.Errorf("sandbox: Config.TimeScale %v is not a positive number", s)
	}
	if cfg.NotifyTimeout == 0 {
		cfg.NotifyTimeout = DefaultNotifyTimeout
	} else if cfg.NotifyTimeout < 0 {
		return errors.New("sandbox: Config.NotifyTimeout is negative")
	}
	if cfg.NotifyWorkers == 0 {
		cfg.NotifyWorkers = DefaultNotifyWorkers
	} else if cfg.NotifyWorkers < 0 {
		return errors.New("sandbox: Config.NotifyWorkers is negative")
	}
	if cfg.NotifyTable == nil {
		cfg.NotifyTable = DefaultNotifyTable()
	} else {
		t := make(NotifyTable, len(cfg.NotifyTable))
		for product, kinds := range cfg.NotifyTable {
			t[product] = slices.Clone(kinds)
		}
		cfg.NotifyTable = t // the caller's map may change; the sandbox's does not
	}
	hc := http.Client{}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else if tr, ok := http.DefaultTransport.(*http.Transport); ok {
		hc.Transport = notifyTransport(tr.Clone(), cfg.NotifyWorkers)
	}
	// Redirects are not followed: Alipay wants "success" from notify_url
	// itself, and a redirect (to https, to a login page) would turn the
	// POST into a GET without the notify. A 3xx answer is a failed
	// delivery, which shows the merchant a misconfigured notify_url.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.HTTPClient = &hc
	return nil
}

// notifyTransport keeps up to workers idle connections per host in tr's
// pool, one for each delivery that can be under way to a merchant: with
// net/http's default of 2, every delivery beyond the second of a burst
// dials anew and leaves a socket in TIME_WAIT.
func notifyTransport(tr *http.Transport, workers int) *http.Transport {
	tr.MaxIdleConnsPerHost = max(workers, DefaultNotifyWorkers)
	tr.MaxIdleConns = max(tr.MaxIdleConns, tr.MaxIdleConnsPerHost)
	return tr
}

// scaled returns d multiplied by the time scale.
func (cfg *Config) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * cfg.TimeScale)
}

// NotifyDelays returns the waits between the deliveries of an
// unacknowledged notify, as the sandbox applies them: Config.NotifySchedule
// multiplied by Config.TimeScale.
func (s *Sandbox) NotifyDelays() []time.Duration {
	ds := make([]time.Duration, len(s.cfg.NotifySchedule))
	for i, d := range s.cfg.NotifySchedule {
		ds[i] = s.cfg.scaled(d)
	}
	return ds
}
