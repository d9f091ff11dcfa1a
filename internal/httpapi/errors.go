package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"zhifu/alipay"
	"zhifu/payment"
)

// ErrorCode is the stable machine code of an API error, the "code" of the
// error envelope. Clients branch on it; the message is for people.
type ErrorCode string

// Error codes. docs/api.md lists each with its HTTP status.
const (
	CodeInvalidJSON           ErrorCode = "invalid_json"             // 400: not one JSON object
	CodeUnknownField          ErrorCode = "unknown_field"            // 400: a field the route does not take
	CodeInvalidType           ErrorCode = "invalid_type"             // 400: a field of the wrong JSON type
	CodeMissingField          ErrorCode = "missing_field"            // 400: a required field is missing or empty
	CodeInvalidAmount         ErrorCode = "invalid_amount"           // 400: an amount that is not "12.34" yuan in range
	CodeInvalidField          ErrorCode = "invalid_field"            // 400: a field's value is not allowed
	CodeInvalidParameter      ErrorCode = "invalid_parameter"        // 400: a bad query parameter
	CodeInvalidRequest        ErrorCode = "invalid_request"          // 400: refused by the payment service's own checks
	CodeIdempotencyRequired   ErrorCode = "idempotency_key_required" // 400: a POST without Idempotency-Key
	CodeInvalidIdempotencyKey ErrorCode = "invalid_idempotency_key"  // 400: an Idempotency-Key of a bad form
	CodeMissingAPIKey         ErrorCode = "missing_api_key"          // 401: no Authorization: Bearer
	CodeInvalidAPIKey         ErrorCode = "invalid_api_key"          // 401: an unknown or wrong key
	CodeAPIKeyRevoked         ErrorCode = "api_key_revoked"          // 401: a revoked key
	CodeNotFound              ErrorCode = "not_found"                // 404: no such route
	CodePaymentNotFound       ErrorCode = "payment_not_found"        // 404: no such payment
	CodeWebhookEventNotFound  ErrorCode = "webhook_event_not_found"  // 404: no such webhook event
	CodeMethodNotAllowed      ErrorCode = "method_not_allowed"       // 405
	CodeIdempotencyInProgress ErrorCode = "idempotency_in_progress"  // 409: the same key is being answered
	CodeDuplicateOutTradeNo   ErrorCode = "duplicate_out_trade_no"   // 409: out_trade_no already used
	CodeDuplicateOutRequestNo ErrorCode = "duplicate_out_request_no" // 409: out_request_no used for another amount
	CodeNotRefundable         ErrorCode = "payment_not_refundable"   // 409: not paid, or refund period over
	CodeNotClosable           ErrorCode = "payment_not_closable"     // 409: paid or refunded, cannot be closed
	CodeConflict              ErrorCode = "conflict"                 // 409: a concurrent change; retry
	CodeWebhooksNotConfigured ErrorCode = "webhooks_not_configured"  // 409: the service sends no webhooks
	CodeBodyTooLarge          ErrorCode = "body_too_large"           // 413
	CodeUnsupportedMediaType  ErrorCode = "unsupported_media_type"   // 415: not application/json
	CodeIdempotencyKeyReused  ErrorCode = "idempotency_key_reused"   // 422: the key was used for another request
	CodeRefundExceeds         ErrorCode = "refund_exceeds_paid"      // 422: more than is left to refund
	CodeRefundRefused         ErrorCode = "refund_refused"           // 422: Alipay refused the refund
	CodeInternal              ErrorCode = "internal_error"           // 500
	CodeAlipayError           ErrorCode = "alipay_error"             // 502: Alipay answered with an error
	CodeAlipayUnknown         ErrorCode = "alipay_outcome_unknown"   // 502: Alipay's answer is unknown; query later
	CodeTimeout               ErrorCode = "timeout"                  // 503: the request ran out of time
	CodeNotReady              ErrorCode = "not_ready"                // 503: /readyz: the store is not ready
)

// Error is an API error: what the error envelope
// {"error":{"code":…,"message":…,"field":…}} carries, with its HTTP
// status.
type Error struct {
	// Status is the HTTP status.
	Status int `json:"-"`
	// Code is the stable machine code.
	Code ErrorCode `json:"code"`
	// Message says what was wrong and what to do, for people.
	Message string `json:"message"`
	// Field names the request field at fault, if one is.
	Field string `json:"field,omitempty"`
	// PaymentID names the payment the error is about, when one exists
	// despite the error (a payment stored before Alipay failed).
	PaymentID string `json:"payment_id,omitempty"`
	// RefundID names the refund the error is about, if any.
	RefundID string `json:"refund_id,omitempty"`
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("httpapi: %s (%s): %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("httpapi: %s: %s", e.Code, e.Message)
}

// apiErrorf returns an *Error.
func apiErrorf(status int, code ErrorCode, field, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// apiJSONBuffers holds the buffers answers are encoded into, reused from
// one request to the next: an answer (a payment's is about 2 KB, with its
// pay_url) is encoded once into a buffer and written from it, not
// marshalled into a new slice and copied to append its newline.
var apiJSONBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// apiMaxPooledBuffer bounds the buffers kept in apiJSONBuffers: one that
// grew larger (a long listing) is left to the garbage collector.
const apiMaxPooledBuffer = 64 << 10

// apiWriteJSON writes v as the JSON answer with the status, and a newline.
func apiWriteJSON(w http.ResponseWriter, status int, v any) {
	buf := apiJSONBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= apiMaxPooledBuffer {
			apiJSONBuffers.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(v); err != nil { // escapes <, > and & as json.Marshal does
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal_error","message":"encoding the answer failed"}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) // every writer here copies: the buffer may be reused after
}

// apiWriteError writes e as the error envelope.
func apiWriteError(w http.ResponseWriter, e *Error) {
	if rec, ok := w.(*apiRecorder); ok {
		rec.code = e.Code
	}
	apiWriteJSON(w, e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}

// serviceError maps an error of payment.Service to an API error. dup is
// the code of ErrDuplicate on this route. The full error is logged (it
// names no secret); the message of a 5xx does not repeat internals.
func (a *api) serviceError(ctx context.Context, log *slog.Logger, err error, dup ErrorCode) *Error {
	var ae *alipay.Error
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, context.DeadlineExceeded):
		e = apiErrorf(http.StatusServiceUnavailable, CodeTimeout, "", "the request took longer than %v; it may have taken effect: GET the payment, and if it must be tried again, use a new Idempotency-Key (this one keeps this answer)", a.cfg.Timeout)
	case errors.Is(err, payment.ErrNotFound):
		e = apiErrorf(http.StatusNotFound, CodePaymentNotFound, "", "no such payment")
	case errors.Is(err, payment.ErrRefundRefused):
		msg := "Alipay refused the refund; no money moved"
		if errors.As(err, &ae) {
			msg += fmt.Sprintf(" (%s: %s)", ae.SubCode, ae.SubMsg)
		}
		e = apiErrorf(http.StatusUnprocessableEntity, CodeRefundRefused, "", "%s", msg)
	case errors.Is(err, payment.ErrRefundExceeds):
		e = apiErrorf(http.StatusUnprocessableEntity, CodeRefundExceeds, "amount", "the refund, with the payment's other refunds, would give back more than was paid")
	case errors.Is(err, payment.ErrNotRefundable):
		e = apiErrorf(http.StatusConflict, CodeNotRefundable, "", "the payment cannot be refunded: it is not paid, or its refund period is over")
	case errors.Is(err, payment.ErrDuplicate) && dup == CodeDuplicateOutTradeNo:
		e = apiErrorf(http.StatusConflict, dup, "out_trade_no", "out_trade_no is already used, and an out_trade_no is never reused: send another or none")
	case errors.Is(err, payment.ErrDuplicate) && dup == CodeDuplicateOutRequestNo:
		e = apiErrorf(http.StatusConflict, dup, "out_request_no", "out_request_no is already used by a refund of another amount: send the same amount, or another out_request_no")
	case errors.Is(err, payment.ErrInvalid):
		e = apiErrorf(http.StatusBadRequest, CodeInvalidRequest, "", "%s", trimPrefix(err.Error()))
	case errors.Is(err, payment.ErrConflict):
		e = apiErrorf(http.StatusConflict, CodeConflict, "", "the payment changed meanwhile; send the request again")
	case alipay.IsUnknown(err):
		e = apiErrorf(http.StatusBadGateway, CodeAlipayUnknown, "", "Alipay's answer is unknown; the payment service settles it by query: GET the payment later")
	case errors.As(err, &ae):
		e = apiErrorf(http.StatusBadGateway, CodeAlipayError, "", "Alipay answered %s (%s): %s", ae.Code, ae.SubCode, ae.SubMsg)
	default:
		e = apiErrorf(http.StatusInternalServerError, CodeInternal, "", "the payment service failed; try again later")
	}
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	log.Log(ctx, level, "httpapi: request failed", "code", e.Code, "status", e.Status, "error", err)
	return e
}

// trimPrefix removes the wrapping of payment's invalid-input errors,
// keeping what was wrong.
func trimPrefix(msg string) string {
	const p = "payment: invalid input: "
	if len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}
