package sandbox

import "sync"

// expirer closes unpaid trades when their time to pay runs out on the
// sandbox clock, so that the close (and its notify) happens on time and
// not only when the trade is next looked at. It keeps a timer per waiting
// trade, set by the trade's creation and stopped by any later change.
type expirer struct {
	clock  *clock
	expire func(appID, outTradeNo string) // looks at the trade, which closes it if due
	mu     sync.Mutex
	timers map[tradeKey]*clockTimer
}

func newExpirer(c *clock, expire func(appID, outTradeNo string)) *expirer {
	return &expirer{clock: c, expire: expire, timers: make(map[tradeKey]*clockTimer)}
}

// handle sets or stops the expiry timer of ev's trade.
func (e *expirer) handle(ev Event) {
	key := tradeKey{ev.Trade.AppID, ev.Trade.OutTradeNo}
	e.mu.Lock()
	defer e.mu.Unlock()
	if t := e.timers[key]; t != nil {
		e.clock.stop(t)
		delete(e.timers, key)
	}
	if ev.Kind != EventCreated || ev.Trade.ExpiresAt.IsZero() {
		return
	}
	var t *clockTimer
	t = e.clock.afterFunc(ev.Trade.ExpiresAt, func() {
		e.mu.Lock()
		if e.timers[key] == t {
			delete(e.timers, key)
		}
		e.mu.Unlock()
		e.expire(key.appID, key.outTradeNo)
	})
	e.timers[key] = t
}
