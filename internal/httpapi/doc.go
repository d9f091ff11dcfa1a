// Package httpapi is the HTTP face of `zhifu serve`: the JSON API under
// /v1 that any shop, in any language, calls to take Alipay payments, the
// operations endpoints (/healthz, /readyz, /metrics), and the admin pages.
//
// # The JSON API
//
// [New] returns the API's handler, built on a [zhifu/payment.Service]:
//
//	POST /v1/payments                  create a payment → its pay_url, qr_code or order_string
//	GET  /v1/payments                  list, newest first: status, created_from, created_to, limit, cursor
//	GET  /v1/payments/{id}             one payment
//	POST /v1/payments/{id}/close       close a pending payment
//	POST /v1/payments/{id}/refunds     refund all or part of a paid payment
//	GET  /v1/payments/{id}/refunds     its refunds
//	GET  /v1/payments/{id}/events      its audit trail
//	GET  /v1/payments/{id}/webhooks    its webhook events, each with its delivery attempts
//	POST /v1/webhooks/{event_id}/resend  deliver a webhook event again, now
//
// Every /v1 request carries an API key (Authorization: Bearer zk_…),
// checked against its SHA-256 hash in constant time ([payment.Authenticate]);
// a key that authenticated is kept for Config.KeyCacheTTL (5 s), so that a
// revoked key stops working within that bound and the requests meanwhile
// read no key from the store;
// every POST an Idempotency-Key, under which the first answer is kept for
// 24 hours and given again to retries. Bodies are JSON, decoded strictly
// (unknown fields, wrong types and trailing data are errors), at most
// Config.MaxBodyBytes; every request runs under Config.Timeout. Errors are
// {"error":{"code":…,"message":…,"field":…}} with a stable [ErrorCode].
// docs/api.md is the reference for clients.
//
// # Operations
//
// /healthz answers while the process serves; /readyz while the store
// answers and is migrated ([payment.Pinger]). [Metrics] holds the
// Prometheus metrics: it observes the Service ([payment.Observer],
// OnChange), measures the Alipay client's calls ([Metrics.RoundTripper]),
// counts webhook deliveries and the API's requests, and is served at
// /metrics.
package httpapi
