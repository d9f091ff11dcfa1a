// Package alipay is a client for the Alipay open platform (gateway.do,
// "OpenAPI 2.0"): RSA2 request signing in key and certificate mode, every
// trade API, verification of responses, async notifies and sync returns, and
// an exact money type.
//
// It imports only the standard library.
package alipay
