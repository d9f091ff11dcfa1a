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
// # The Service
//
// [Service] is the merchant side around the store, as the article's Django
// view should have been:
//
//   - [Service.CreatePayment] validates the request, stores the pending
//     order first (a fresh out_trade_no, never reused; time_expire sent
//     to Alipay equal to [Order.ExpiresAt]) and returns the signed page or
//     wap URL, the app order string, or the precreate QR code.
//   - [Service.NotifyHandler] verifies a notify's signature, checks
//     app_id, a known out_trade_no, seller_id and total_amount, applies it
//     in one transaction with the raw notify and answers exactly "success"
//     only after the commit. A signed notify that fails a check is kept in
//     quarantine with its reason ([Service.ReplayQuarantined]).
//   - [Service.ReturnHandler] verifies the sync return and shows the order
//     as the database knows it, asking trade.query (bounded) if it is
//     still pending: the return never pays an order by itself.
//   - [Service.Reconcile] (trade.query), [Service.Expire] and
//     [Service.CloseOrder] (trade.close; ACQ.TRADE_NOT_EXIST closes
//     locally, a close refused because the buyer just paid is reconciled)
//     are what the reconciliation and expiry jobs call.
//   - [Service.Refund] reserves the refund and its out_request_no before
//     calling Alipay, counts it only where Alipay says money moved, and
//     [Service.SettleRefund] settles an unknown outcome by the refund
//     query with the same out_request_no.
//
// Each of them hands its facts to [Service.ApplyTradeResult], the one
// path by which an order changes: [Next], then [Store.ApplyTransition].
//
// # Stores
//
// [Store] has two implementations, [zhifu/payment/sqlitestore] (the
// embedded default) and [zhifu/payment/postgresstore] (many instances on
// one database), both checked by the conformance suite
// [zhifu/payment/storetest].
//
// # Jobs
//
// [Jobs] runs the durable work on River, in the store's own database: a
// reconcile of each pending order at +1m, +5m and +15m, its expiry at
// ExpiresAt, and the settlement of refunds whose outcome is unknown, each
// through [Service.JobRunner]. The Service schedules them itself when
// [Config].Jobs is set: New calls it with the Service's JobRunner (a
// closure over [NewJobs] and the store's River driver) and keeps the Jobs,
// which [Service.Jobs] returns for the caller to Start and Stop. Then
// CreatePayment schedules each new order's jobs, and Refund (the automatic
// refund of a payment after close too) the settling of a refund left
// unknown. A periodic sweep re-enqueues whatever a crash or a failed
// scheduling left out, so a lost notify never loses a payment. Several
// instances on one PostgreSQL database share the jobs: each runs once.
package payment
