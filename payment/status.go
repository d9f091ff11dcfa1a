package payment

import (
	"fmt"
	"strings"
)

// Status is where an order stands, as the merchant's database knows it.
//
// The statuses only move forward (see [Next]):
//
//	pending ──► paid ──► partially_refunded ──► refunded
//	   │          ▲  └──────────────────────────────▲
//	   ▼          │
//	 closed ──────┘ (a payment that arrives after the close: FlagPaidAfterClose)
//
// Alipay's TRADE_FINISHED is not a status but a flag, [FlagFinished]: it
// says that the trade can no longer be refunded, and it arrives for paid and
// for partially refunded trades alike, so a status would lose which of the
// two the order is.
type Status string

// Order statuses.
const (
	// StatusPending: created, not paid (yet). The only status in which an
	// order can still become paid in the ordinary way.
	StatusPending Status = "pending"
	// StatusPaid: Alipay says the buyer paid (TRADE_SUCCESS or
	// TRADE_FINISHED), and nothing was refunded.
	StatusPaid Status = "paid"
	// StatusPartiallyRefunded: paid, and part of the money went back.
	StatusPartiallyRefunded Status = "partially_refunded"
	// StatusRefunded: paid, and all of the money went back. Alipay reports
	// such a trade as TRADE_CLOSED; it is refunded, not closed.
	StatusRefunded Status = "refunded"
	// StatusClosed: closed without a payment (expired, or closed by the
	// merchant). A payment that still arrives moves the order on to paid
	// with FlagPaidAfterClose.
	StatusClosed Status = "closed"
)

// statuses lists every Status, in the order of rank.
func statuses() []Status {
	return []Status{StatusPending, StatusClosed, StatusPaid, StatusPartiallyRefunded, StatusRefunded}
}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return s.rank() >= 0 }

// rank orders the statuses so that no transition lowers it: an order may
// only move to a status of greater or equal rank. Closed ranks below paid
// because a payment may still arrive for a closed order.
func (s Status) rank() int {
	switch s {
	case StatusPending:
		return 0
	case StatusClosed:
		return 1
	case StatusPaid:
		return 2
	case StatusPartiallyRefunded:
		return 3
	case StatusRefunded:
		return 4
	}
	return -1
}

// Paid reports whether an order in status s has been paid (whatever has
// been refunded since).
func (s Status) Paid() bool {
	return s == StatusPaid || s == StatusPartiallyRefunded || s == StatusRefunded
}

// Channel is the way the buyer pays, which decides the Alipay method that
// starts the payment.
type Channel string

// Payment channels.
const (
	ChannelPage      Channel = "page"      // alipay.trade.page.pay: the desktop cashier page
	ChannelWAP       Channel = "wap"       // alipay.trade.wap.pay: the mobile web cashier
	ChannelPrecreate Channel = "precreate" // alipay.trade.precreate: a QR code the buyer scans
	ChannelApp       Channel = "app"       // alipay.trade.app.pay: the order string of a mobile app
)

// Valid reports whether c is one of the defined channels.
func (c Channel) Valid() bool {
	switch c {
	case ChannelPage, ChannelWAP, ChannelPrecreate, ChannelApp:
		return true
	}
	return false
}

// Flags are facts about an order that its status does not say. Flags are
// only ever added, never cleared.
type Flags uint32

// Order flags. The values are stored in databases: never renumber them.
const (
	// FlagFinished: Alipay reported TRADE_FINISHED; the trade can no longer
	// be refunded.
	FlagFinished Flags = 1 << 0
	// FlagPaidAfterClose: a payment arrived for an order that had already
	// been closed. The order is paid; the configured policy decides whether
	// it is kept (and someone looks at it) or refunded automatically.
	FlagPaidAfterClose Flags = 1 << 1
)

// Has reports whether all of flags are set in f.
func (f Flags) Has(flags Flags) bool { return f&flags == flags }

// String returns the names of the set flags separated by "|", such as
// "finished|paid_after_close", or "" when none is set.
func (f Flags) String() string {
	return strings.Join(f.Names(), "|")
}

// Names returns the names of the flags set ("finished",
// "paid_after_close", and 0x… for bits without a name); never nil.
func (f Flags) Names() []string {
	names := []string{}
	for _, flag := range []struct {
		bit  Flags
		name string
	}{
		{FlagFinished, "finished"},
		{FlagPaidAfterClose, "paid_after_close"},
	} {
		if f&flag.bit != 0 {
			names = append(names, flag.name)
			f &^= flag.bit
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("0x%x", uint32(f)))
	}
	return names
}
