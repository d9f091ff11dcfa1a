package payment

import "sync"

// Unverified notifies are recorded in the log of the order they name, so
// that a support person sees forgeries and key mix-ups. A stranger who
// knows an out_trade_no could otherwise grow that log without end: one
// process records at most maxUnverifiedPerOrder of them per order and
// only logs the rest.
const (
	maxUnverifiedPerOrder = 20
	maxUnverifiedOrders   = 10000 // orders tracked before the counts start over
)

// unverifiedLimiter counts the unverified notifies recorded per order.
type unverifiedLimiter struct {
	mu     sync.Mutex
	counts map[string]int
}

// allow reports whether another unverified notify may be recorded in the
// log of order orderID, and counts it if so.
func (l *unverifiedLimiter) allow(orderID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil || len(l.counts) >= maxUnverifiedOrders && l.counts[orderID] == 0 {
		l.counts = make(map[string]int)
	}
	if l.counts[orderID] >= maxUnverifiedPerOrder {
		return false
	}
	l.counts[orderID]++
	return true
}
