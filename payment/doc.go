// Package payment is the merchant side of an Alipay integration: orders in
// a database, the state machine every fact about a trade goes through, and
// the store behind them.
//
// # Orders and their states
//
// An [Order] is one payment attempt, one out_trade_no at Alipay (made with
// [zhifu/alipay.NewOutTradeNo] and never reused). Its [Status] moves only
// forward: pending → paid → partially_refunded → refunded, or pending →
// closed. TRADE_FINISHED is the flag [FlagFinished] ("no longer
// refundable"), not a status; a TRADE_CLOSED after a full refund makes the
// order refunded, not closed; a payment that arrives for a closed order is
// never dropped: the order becomes paid with [FlagPaidAfterClose] and the
// effect [EffectPaidAfterClose] asks for the configured policy.
//
// # One path for every fact
//
// A verified notify, a query answer, a close answer and a refund answer are
// each a [Fact]. [Next] — pure, no I/O — checks a fact against the order
// (amount, trade_no, refunded total) and the transition table, and returns
// the order's new state and an [Effect]. The caller stores it with
// [Store.ApplyTransition], a compare-and-set on [Order.Version] that
// appends the order's events in the same transaction; on [ErrConflict] it
// reads the order again and calls Next again. Duplicates and stale facts
// are [EffectNone] and change nothing, so replayed and concurrent notifies
// cannot move an order backwards or credit it twice.
//
// # The event log
//
// Every order has an append-only log of [OrderEvent]s: every notify
// received (raw, whether it verified, what it did), every query, every
// state change, every refund step. Notifies that are signed but match no
// order are kept as [QuarantinedNotify] for replay.
//
// # Refunds
//
// A [Refund] is reserved with [Store.ReserveRefund] before Alipay is
// called, so that its out_request_no is chosen once and the sum of refunds
// can never exceed what was paid, even under concurrent requests.
//
// # Stores
//
// [Store] has two implementations, [zhifu/payment/sqlitestore] (the
// embedded default) and [zhifu/payment/postgresstore] (many instances on
// one database), both checked by the conformance suite
// [zhifu/payment/storetest].
package payment
