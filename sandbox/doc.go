// Package sandbox is a local emulator of Alipay's open-platform gateway
// (gateway.do, "OpenAPI 2.0"), faithful enough that Alipay's own SDKs accept
// it with only the gateway URL changed. A [*Sandbox] is an [net/http.Handler]:
// mount it in a server, or start one in a test with [NewTestServer].
//
// # What it does not do
//
// It is not Alipay. It holds no money and no real buyers: one sandbox buyer
// pays every trade. State lives in memory, or with [Config.DataDir] in a
// file that survives restarts. It does not yet serve a dashboard and control
// API. GBK requests, app pay order strings and the v3 REST
// API are out of scope. Where Alipay's real behaviour is unconfirmed the
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
// # Test auth codes
//
// alipay.trade.pay takes any 16 to 24 digit auth_code starting with 25 to
// 30 as a successful payment, except [AuthCodeWaitBuyerPay],
// [AuthCodeBalanceNotEnough] and [AuthCodeInvalid].
package sandbox
