package payment

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a webhook request.
const (
	// WebhookSignatureHeader carries "t=<unix seconds>,v1=<hex>", the
	// HMAC-SHA256 of "<t>.<body>" under the shared secret.
	WebhookSignatureHeader = "Zhifu-Signature"
	// WebhookEventIDHeader carries the event's id, the same at every
	// attempt: the receiver's deduplication key.
	WebhookEventIDHeader = "Zhifu-Event-Id"
	// WebhookEventTypeHeader carries the event's type, such as
	// "payment.paid".
	WebhookEventTypeHeader = "Zhifu-Event-Type"
)

// DefaultWebhookTolerance is how far a signature's timestamp may be from
// the receiver's clock when VerifyWebhookSignature is given no tolerance:
// five minutes, which bounds the replay of a captured request.
const DefaultWebhookTolerance = 5 * time.Minute

// ErrWebhookSignature: a webhook request whose signature does not verify
// (missing, malformed, stale, or of another secret or body). The wrapped
// message says which of these, never what the signature should be.
var ErrWebhookSignature = errors.New("payment: invalid webhook signature")

// SignWebhook returns the value of the Zhifu-Signature header for body
// sent at time t under secret: "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// t.body>". The Webhooks sign every attempt with it; receivers' tests can
// use it to make signed requests.
func SignWebhook(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(webhookMAC(secret, ts, body))
}

// webhookMAC returns the HMAC-SHA256 of "ts.body" under secret.
func webhookMAC(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifyWebhookSignature checks the Zhifu-Signature header of a webhook
// request whose raw body is body: that its timestamp is within tolerance
// of now (DefaultWebhookTolerance when tolerance is zero or negative),
// and that one of its v1 signatures is the HMAC-SHA256 of "t.body" under
// secret, compared in constant time. Several v1 values are accepted, so
// that a header can carry signatures under an old and a new secret
// during a rotation. Pass the body exactly as received, before any JSON
// decoding. The error wraps ErrWebhookSignature.
func VerifyWebhookSignature(secret string, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	sig, err := parseWebhookSignature(header)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWebhookSignature, err)
	}
	if d := now.Sub(time.Unix(sig.t, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %d is %v away from now, more than the tolerance %v", ErrWebhookSignature, sig.t, d.Round(time.Second), tolerance)
	}
	want := webhookMAC(secret, strconv.FormatInt(sig.t, 10), body)
	ok := false
	for _, v := range sig.v1 {
		ok = hmac.Equal(v, want) || ok // no early exit: every candidate is compared
	}
	if !ok {
		return fmt.Errorf("%w: no v1 signature matches the body and secret", ErrWebhookSignature)
	}
	return nil
}

// webhookSignature is a parsed Zhifu-Signature header.
type webhookSignature struct {
	t  int64
	v1 [][]byte
}

// maxWebhookSignatures bounds the v1 values of one header, so that a
// hostile header cannot make the receiver compute many comparisons.
const maxWebhookSignatures = 8

// parseWebhookSignature parses "t=<unix seconds>,v1=<hex>[,v1=<hex>…]".
// Unknown keys are ignored (room for future schemes); exactly one t and
// at least one well-formed v1 are required.
func parseWebhookSignature(header string) (webhookSignature, error) {
	var sig webhookSignature
	if header == "" {
		return sig, errors.New("no Zhifu-Signature header")
	}
	if len(header) > 1024 {
		return sig, errors.New("the Zhifu-Signature header is too long")
	}
	seenT := false
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return sig, fmt.Errorf("malformed Zhifu-Signature part %q: want key=value", part)
		}
		switch k {
		case "t":
			if seenT {
				return sig, errors.New("the Zhifu-Signature header has two timestamps")
			}
			seenT = true
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 || len(v) > 12 {
				return sig, fmt.Errorf("malformed Zhifu-Signature timestamp %q: want unix seconds", v)
			}
			sig.t = n
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return sig, errors.New("malformed Zhifu-Signature v1: want 64 hex digits")
			}
			if len(sig.v1) == maxWebhookSignatures {
				return sig, fmt.Errorf("the Zhifu-Signature header has more than %d v1 values", maxWebhookSignatures)
			}
			sig.v1 = append(sig.v1, b)
		}
	}
	switch {
	case !seenT:
		return sig, errors.New("the Zhifu-Signature header has no timestamp t")
	case len(sig.v1) == 0:
		return sig, errors.New("the Zhifu-Signature header has no v1 signature")
	}
	return sig, nil
}
