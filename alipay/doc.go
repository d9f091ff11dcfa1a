// Package alipay is a client for the Alipay open platform (gateway.do,
// "OpenAPI 2.0"): RSA2 request signing in key and certificate mode, the
// trade APIs, verification of responses, async notifies and sync returns,
// and an exact money type. It imports only the standard library.
//
// # Configuring
//
// [New] takes a [Config]: the app id, the app private key in whatever form
// you hold it (PEM PKCS#1 or PKCS#8, or the bare base64 of Alipay's key
// tool), and either Alipay's public key (key mode) or the three certificate
// files (certificate mode). New refuses a configuration that cannot work and
// says why: a public key where the private key belongs, your own public key
// where Alipay's belongs, a certificate that does not match the key, a key
// shorter than 2048 bits.
//
// # Paying
//
// [Client.PagePayURL] and [Client.WapPayURL] return the signed URL to send
// the buyer's browser to (or, with the Form variants, a self-submitting HTML
// form); [Client.AppPayOrderString] returns the order string of a mobile app
// payment. Nothing is sent to Alipay: the trade exists at Alipay once the
// buyer opens the cashier.
//
// # Calling APIs
//
// [Client.Do] calls any method. Every response is verified over its raw bytes
// exactly as received, before anything is decoded. A failure answered by
// Alipay is an [*Error]; branch on its sub code with errors.Is (for example
// errors.Is(err, [SubCodeTradeNotExist])). A call whose outcome is unknown —
// a timeout, a network failure, a system error, an answer that fails its
// signature — satisfies [IsUnknown]: settle it with a query, and retry a
// money movement only with the very same out_trade_no or out_request_no.
// Nothing is retried by the client.
//
// # Notifies and returns
//
// [Client.ParseNotification] verifies the async notify Alipay posts to
// notify_url and checks that it is for this app. A valid signature only
// proves that Alipay sent it: check that the order is yours, that the amount
// equals the order's, and store the result before answering "success".
// [Client.ParseReturn] verifies the sync return; a return is never proof of
// payment.
//
// # Money and time
//
// [Amount] is an integer number of fen, parsed from and printed as Alipay's
// "12.34" strings; no float ever holds money. Alipay's times are Beijing
// time whatever the machine's zone: see [ParseTime] and [FormatTime].
//
// # Signing from Alipay's side
//
// The signing core is exported ([RequestStringToSign], [NotifyStringToSign],
// [Sign], [Verify], [VerifyRequest], [SignNotify], [SignResponse]) because
// zhifu's sandbox uses it to play Alipay: it verifies apps' requests and
// signs responses and notifies with its own key. Known-answer vectors from
// Alipay's official SDK pin it, so both sides cannot drift together.
package alipay
