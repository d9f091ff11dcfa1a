package httpapi

import (
	"bytes"
	"errors"
	"net/http"

	"zhifu/payment"
)

// WebhookEventObject is a webhook event as the API shows it: one state
// change of a payment told to the merchant's webhook URL, with every
// attempt to deliver it. It holds neither the signing secret nor a
// signature.
type WebhookEventObject struct {
	ID        string                   `json:"id"`
	Object    string                   `json:"object"` // "webhook_event"
	PaymentID string                   `json:"payment_id"`
	Type      payment.WebhookEventType `json:"type"`
	Status    payment.WebhookStatus    `json:"status"`
	// AttemptCount counts the attempts made, automatic and manual.
	AttemptCount  int                    `json:"attempt_count"`
	CreatedAt     string                 `json:"created_at"`
	LastAttemptAt *string                `json:"last_attempt_at"`
	DeliveredAt   *string                `json:"delivered_at"`
	Attempts      []WebhookAttemptObject `json:"attempts"`
}

// WebhookAttemptObject is one POST of a webhook event to the merchant's
// URL, automatic or a resend.
type WebhookAttemptObject struct {
	Object  string `json:"object"` // "webhook_attempt"
	EventID string `json:"event_id"`
	// Number counts the event's attempts from 1.
	Number int `json:"number"`
	// Manual reports a resend (by the API or the admin pages).
	Manual bool `json:"manual"`
	// Delivered reports a 2xx answer.
	Delivered   bool   `json:"delivered"`
	AttemptedAt string `json:"attempted_at"`
	DurationMS  int64  `json:"duration_ms"`
	// StatusCode is the HTTP status answered, or null when none came (a
	// timeout, a refused connection).
	StatusCode *int `json:"status_code"`
	// Error says why the attempt failed, "" when delivered.
	Error string `json:"error"`
}

// apiWebhookEventObject returns the object of event e with its attempts.
func apiWebhookEventObject(e *payment.WebhookEvent, attempts []payment.WebhookAttempt) WebhookEventObject {
	obj := WebhookEventObject{
		ID: e.ID, Object: "webhook_event", PaymentID: e.OrderID, Type: e.Type, Status: e.Status,
		AttemptCount: e.Attempts, CreatedAt: apiTime(e.CreatedAt),
		LastAttemptAt: apiTimePtr(e.LastAttemptAt), DeliveredAt: apiTimePtr(e.DeliveredAt),
		Attempts: make([]WebhookAttemptObject, len(attempts)),
	}
	for i := range attempts {
		obj.Attempts[i] = apiWebhookAttemptObject(&attempts[i])
	}
	return obj
}

// apiWebhookAttemptObject returns the object of attempt a. Delivered is
// read from the attempt's own answer, not from its Result: a failed
// resend of a delivered event keeps the event's status as its Result.
func apiWebhookAttemptObject(a *payment.WebhookAttempt) WebhookAttemptObject {
	obj := WebhookAttemptObject{
		Object: "webhook_attempt", EventID: a.EventID, Number: a.Number, Manual: a.Manual,
		Delivered: a.Error == "", AttemptedAt: apiTime(a.At), DurationMS: a.Duration.Milliseconds(), Error: a.Error,
	}
	if a.StatusCode != 0 {
		code := a.StatusCode
		obj.StatusCode = &code
	}
	return obj
}

// webhooksOrError returns the configured webhooks, or the error of a
// service that sends none.
func (a *api) webhooksOrError() (*payment.Webhooks, *Error) {
	if a.cfg.Webhooks == nil {
		return nil, apiErrorf(http.StatusConflict, CodeWebhooksNotConfigured, "",
			"webhooks are not configured: set the webhook URL and secret (--webhook-url, $ZHIFU_WEBHOOK_SECRET) and restart the service")
	}
	return a.cfg.Webhooks, nil
}

// listWebhooks answers GET /v1/payments/{id}/webhooks: the payment's
// webhook events in the order of its changes, each with its attempts.
func (a *api) listWebhooks(w http.ResponseWriter, r *http.Request, c *apiCall) {
	hooks, e := a.webhooksOrError()
	if e != nil {
		apiWriteError(w, e)
		return
	}
	o, err := a.svc.GetOrder(r.Context(), r.PathValue("id"))
	if err != nil {
		apiWriteError(w, a.serviceError(r.Context(), c.log, err, ""))
		return
	}
	evs, err := hooks.ListWebhookEvents(r.Context(), o.ID)
	if err != nil {
		apiWriteError(w, a.serviceError(r.Context(), c.log.With("out_trade_no", o.OutTradeNo), err, ""))
		return
	}
	data := make([]WebhookEventObject, len(evs))
	for i := range evs {
		attempts, err := hooks.ListWebhookAttempts(r.Context(), evs[i].ID)
		if err != nil {
			apiWriteError(w, a.serviceError(r.Context(), c.log.With("out_trade_no", o.OutTradeNo), err, ""))
			return
		}
		data[i] = apiWebhookEventObject(&evs[i], attempts)
	}
	apiWriteJSON(w, http.StatusOK, apiList(data, ""))
}

// resendWebhook answers POST /v1/webhooks/{event_id}/resend: one more
// attempt of the event, now, whatever its status, answered 201 with the
// attempt — delivered or not, as its fields say.
func (a *api) resendWebhook(w http.ResponseWriter, r *http.Request, c *apiCall) {
	if e := apiNoFields(c.body); e != nil {
		apiWriteError(w, e)
		return
	}
	hooks, e := a.webhooksOrError()
	if e != nil {
		apiWriteError(w, e)
		return
	}
	id := r.PathValue("event_id")
	log := c.log.With("event_id", id)
	at, err := hooks.Resend(r.Context(), id)
	switch {
	case errors.Is(err, payment.ErrNotFound):
		apiWriteError(w, apiErrorf(http.StatusNotFound, CodeWebhookEventNotFound, "", "no webhook event has this id; list a payment's events with GET /v1/payments/{id}/webhooks"))
		return
	case err != nil && !errors.Is(err, payment.ErrWebhookNotDelivered):
		// No attempt was made, or it was made and could not be recorded.
		apiWriteError(w, a.serviceError(r.Context(), log, err, ""))
		return
	}
	log.Info("httpapi: webhook resent", "attempt", at.Number, "delivered", err == nil, "status_code", at.StatusCode)
	apiWriteJSON(w, http.StatusCreated, apiWebhookAttemptObject(at))
}

// apiNoFields checks the body of a POST that takes no fields: empty, or
// an empty JSON object.
func apiNoFields(body []byte) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var none struct{}
	return apiDecode(body, &none)
}
