// Package sandbox is a local emulator of Alipay's open-platform gateway
// (gateway.do, "OpenAPI 2.0"), faithful enough that Alipay's own SDKs accept
// it with only the gateway URL changed. A [*Sandbox] is an [net/http.Handler]:
// mount it in a server, or start one in a test with [NewTestServer].
//
// # What it does not do
//
// It is not Alipay. It holds no money and no real buyers: one sandbox buyer
// pays every trade. State lives in memory, or with [Config.DataDir] in a
// file that survives restarts: apps, trades, refunds, notifies not yet
// acknowledged (resumed on their schedule), faults and the clock's
// advance, not the record of past attempts. GBK requests, app pay order
// strings and the v3 REST API are out of scope. Where Alipay's real behaviour is unconfirmed the
// code says so next to the choice it made.
//
// # The gateway
//
// /gateway.do takes GET and POST forms, merges the query string and the
// body (a parameter given twice is refused as isv.suspected-attack, as
// Alipay does), checks the common parameters, the timestamp, the app's
// signature (in certificate mode also app_cert_sn and alipay_root_cert_sn),
// decrypts an AES biz_content, and answers in Alipay's shapes: HTTP 200, the
// node of the method signed with the sandbox's Alipay key over the exact
// bytes sent, "/" written as "\/" as Alipay's JSON writer does. A failed
// signature check answers isv.invalid-signature with the gateway's string to
// sign in sub_msg, the most useful debugging aid Alipay offers.
//
// # Certificate mode
//
// An [App] with AppCertSN, AlipayRootCertSN and AlipayCertSN set is in
// certificate mode (公钥证书模式). [NewCA] makes a certificate authority
// shaped like Alipay's (a root bundle with a non-RSA root that must not
// count in alipay_root_cert_sn) that issues the app and Alipay
// certificates; [Certificates.Apply] sets the SNs from the files.
//
// # Trades
//
// The methods alipay.trade.page.pay, alipay.trade.wap.pay,
// alipay.trade.precreate, alipay.trade.create, alipay.trade.pay,
// alipay.trade.query, alipay.trade.refund,
// alipay.trade.fastpay.refund.query, alipay.trade.close and
// alipay.trade.cancel run one state machine:
//
//	WAIT_BUYER_PAY → TRADE_SUCCESS → (partial refunds) → TRADE_CLOSED (fully refunded)
//	WAIT_BUYER_PAY → TRADE_CLOSED (close, cancel, expiry)
//	TRADE_SUCCESS  → TRADE_FINISHED (Sandbox.Finish: the refund period is over)
//
// As at Alipay, a page, wap or precreate payment becomes a trade only when
// the buyer opens the cashier or scans the QR code: until then
// alipay.trade.query answers ACQ.TRADE_NOT_EXIST. Unpaid trades close at
// their deadline on the sandbox clock, which runs with the wall clock and
// jumps forward with [Sandbox.Advance].
//
// The cashier (/cashier/{token}) and the scan page of a precreate QR code
// (/qr/{token}) show a real QR code of the scan page, drawn at
// /qr/{token}.png: with [Config.BaseURL] set to an address a phone
// reaches, a phone on the same network scans it and pays. Drawing the
// code does not open the checkout; opening the scan page does.
//
// # Async notifies
//
// Every change of a trade is an [Event]; those that Alipay notifies for
// the trade's product ([DefaultNotifyTable]) are POSTed to the trade's
// notify_url, signed with the sandbox's Alipay key, and delivered again on
// Alipay's schedule ([DefaultNotifySchedule], compressed by
// Config.TimeScale) until the merchant answers HTTP 200 with exactly
// "success". Every delivery is recorded ([Sandbox.NotifyAttempts]).
// Faults ([Sandbox.SetNotifyFault]) duplicate, delay, drop, reorder and
// forge notifies, as a merchant's handler must survive. In tests, a
// Config.Now that stands still makes the clock move only by Advance, and
// [Sandbox.DeliverDue] waits for what comes due; [Sandbox.Stop] ends the
// sandbox's goroutines.
//
// # API faults
//
// [Sandbox.SetFault] makes the merchant's calls fail as Alipay's do, per
// app or per trade, per method or all, for the next N calls or until
// cleared: [FaultSystemError] (ACQ.SYSTEM_ERROR, nothing done),
// [FaultHang] (held past the client's timeout, nothing done),
// [FaultLoseAnswer] (done, but the answer never arrives),
// [FaultFundChangeN] (a refund that moved money answers fund_change N) and
// [FaultPayAfterClose] (the buyer pays a trade the merchant closed). What
// each fault did is recorded ([Sandbox.FaultInjections]).
//
// # Control API and dashboard
//
// /sandbox/api/ is a JSON API over the same operations, for scripts and
// tests in any language:
//
//	GET    /sandbox/api/apps
//	GET    /sandbox/api/trades?app_id=&status=
//	GET    /sandbox/api/trades/{out_trade_no}?app_id=
//	POST   /sandbox/api/trades/{out_trade_no}/pay     {"app_id": …}
//	POST   /sandbox/api/trades/{out_trade_no}/close   {"app_id": …}
//	POST   /sandbox/api/trades/{out_trade_no}/finish  {"app_id": …}
//	GET    /sandbox/api/clock
//	POST   /sandbox/api/clock/advance                 {"duration": "15m"}
//	GET    /sandbox/api/faults
//	POST   /sandbox/api/faults                        {"kind": "hang", "method": …, "count": 1, "delay": "30s"}
//	DELETE /sandbox/api/faults
//	GET    /sandbox/api/faults/injections
//	GET    /sandbox/api/faults/{id}
//	DELETE /sandbox/api/faults/{id}
//	GET    /sandbox/api/notifications?app_id=&out_trade_no=
//	GET    /sandbox/api/notifications/{notify_id}
//	POST   /sandbox/api/notifications/{notify_id}/resend
//	POST   /sandbox/api/notifications/deliver-due
//	GET    /sandbox/api/notify-faults
//	POST   /sandbox/api/notify-faults                 {"out_trade_no": …, "duplicate": 2, "delay": "30s"}
//	DELETE /sandbox/api/notify-faults?app_id=&out_trade_no=
//
// app_id may be left out while the sandbox has one app. Amounts are
// strings ("12.34"), times RFC 3339 in Beijing time; errors are
// {"error": {"code": "trade_not_found", "message": …}} with a fitting HTTP
// status (400 naming the field, 401, 403, 404, 405, 409 for a trade whose
// state refuses the operation, 413, 415, 503 once stopped). A
// notification lists its attempts (time, attempt number, HTTP status,
// body, latency, error, the fault applied); resend delivers one again
// now; deliver-due fires what is due on the sandbox clock and answers once
// those deliveries are recorded. A notify fault is flat JSON: app_id,
// out_trade_no (none: the whole app) and the fields of [NotifyFault] by
// their JSON names, delay as a Go duration. /sandbox/ is a dashboard for
// a person, in Chinese and English, that works without JavaScript: apps
// (never a key), trades, a trade's refunds and its notifies with every
// attempt (the merchant's answer shown as text), API and notify faults
// with forms to set and clear them, and buttons to pay, close, finish,
// resend a notify and advance the clock.
//
// Both can pay and break anything. Without [Config.ControlToken] they
// answer only requests addressed to a loopback host; cross-origin browser
// posts are always refused, and dashboard forms carry a per-process token.
// Never expose them beyond your machine without a token.
//
// # Test auth codes
//
// alipay.trade.pay takes any 16 to 24 digit auth_code starting with 25 to
// 30 as a successful payment, except [AuthCodeWaitBuyerPay],
// [AuthCodeBalanceNotEnough] and [AuthCodeInvalid].
package sandbox
