package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"zhifu/payment"
)

// AdminWebhooksOf returns the AdminWebhookLister of the webhooks w, for
// AdminConfig.Webhooks: the order's attempts from its events, and resends
// by w.Resend.
func AdminWebhooksOf(w *payment.Webhooks) AdminWebhookLister {
	return adminWebhookSender{w}
}

// adminWebhookSender is the AdminWebhookLister of a payment.Webhooks.
type adminWebhookSender struct{ w *payment.Webhooks }

// ListWebhookEvents implements AdminWebhookLister.
func (h adminWebhookSender) ListWebhookEvents(ctx context.Context, orderID string) ([]AdminWebhookEvent, error) {
	events, err := h.w.ListWebhookEvents(ctx, orderID)
	if err != nil {
		return nil, err
	}
	out := make([]AdminWebhookEvent, len(events))
	for i, e := range events {
		attempts, err := h.w.ListWebhookAttempts(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		out[i] = AdminWebhookEvent{EventID: e.ID, EventType: string(e.Type)}
		for j := range attempts {
			out[i].Attempts = append(out[i].Attempts, adminWebhookAttemptOf(string(e.Type), &attempts[j]))
		}
	}
	return out, nil
}

// ResendWebhook implements AdminWebhookLister with payment.Webhooks.Resend:
// an attempt that was not answered 2xx is returned without error. Resend
// does not give the event's type: it is left empty.
func (h adminWebhookSender) ResendWebhook(ctx context.Context, eventID string) (AdminWebhookAttempt, error) {
	a, err := h.w.Resend(ctx, eventID)
	if err != nil && !errors.Is(err, payment.ErrWebhookNotDelivered) {
		return AdminWebhookAttempt{}, err
	}
	return adminWebhookAttemptOf("", a), nil
}

// adminWebhookAttemptOf is attempt a, of an event of the type, as the
// pages show it. Delivered is read from the attempt's own answer: the
// Result of a failed resend is the status the event kept, which may be
// delivered.
func adminWebhookAttemptOf(eventType string, a *payment.WebhookAttempt) AdminWebhookAttempt {
	return AdminWebhookAttempt{
		EventID: a.EventID, EventType: eventType, Attempt: a.Number, Manual: a.Manual, At: a.At,
		StatusCode: a.StatusCode, Delivered: a.Error == "", Error: a.Error,
	}
}

// adminWebhookEvent is one webhook event of an order as its resend form
// shows it: how many attempts it had and how the latest went.
type adminWebhookEvent struct {
	EventID, EventType string
	// Attempts counts the attempts listed.
	Attempts int
	// Last is the latest attempt, or nil before the first.
	Last *AdminWebhookAttempt
}

// adminWebhookEvents returns the resend forms' view of an order's webhook
// events, in the order given: every event, attempted or not.
func adminWebhookEvents(events []AdminWebhookEvent) []adminWebhookEvent {
	out := make([]adminWebhookEvent, len(events))
	for i, e := range events {
		v := adminWebhookEvent{EventID: e.EventID, EventType: e.EventType, Attempts: len(e.Attempts)}
		for j := range e.Attempts {
			if a := &e.Attempts[j]; v.Last == nil || a.Attempt >= v.Last.Attempt {
				v.Last = a
			}
		}
		out[i] = v
	}
	return out
}

// adminWebhookAttempts returns the attempts of all the events, for the
// timeline.
func adminWebhookAttempts(events []AdminWebhookEvent) []AdminWebhookAttempt {
	var out []AdminWebhookAttempt
	for _, e := range events {
		out = append(out, e.Attempts...)
	}
	return out
}

// adminWebhookResult returns the message of attempt n of the event,
// found in the order's timeline, after the resend form sent the browser
// back to the order.
func adminWebhookResult(timeline []adminTimelineEntry, eventID string, n int) (notice, problem string) {
	for _, e := range timeline {
		h := e.Webhook
		if h == nil || h.EventID != eventID || h.Attempt != n {
			continue
		}
		answer := "no answer"
		if h.StatusCode != 0 {
			answer = fmt.Sprintf("HTTP %d", h.StatusCode)
		}
		if h.Delivered {
			return fmt.Sprintf("Webhook 已重发并送达 The event %s was resent and delivered (attempt %d, %s).", eventID, n, answer), ""
		}
		return "", fmt.Sprintf("Webhook 重发失败 The resend of %s was not delivered (attempt %d, %s): %s. "+
			"The event keeps its status; fix the endpoint and resend it again.", eventID, n, answer, adminOr(h.Error, "no reason given"))
	}
	// Not this order's event and attempt (a link made by hand): the
	// query's text is not shown.
	return "", ""
}

// resendWebhook delivers one of the order's webhook events again, after
// a confirmation page, and shows the order with the attempt's result.
func (s *adminServer) resendWebhook(w http.ResponseWriter, r *http.Request, sess *adminSession) {
	if s.cfg.Webhooks == nil {
		s.fail(w, r, sess, http.StatusNotFound, "页面不存在 Page not found", "This service sends no webhooks, so there is nothing to resend.")
		return
	}
	ctx := r.Context()
	o, err := s.cfg.Store.GetOrder(ctx, r.PathValue("id"))
	if err != nil {
		s.orderError(w, r, sess, err)
		return
	}
	eventID := r.PathValue("event")
	log := s.log.With("out_trade_no", o.OutTradeNo, "event_id", eventID)
	events, err := s.cfg.Webhooks.ListWebhookEvents(ctx, o.ID)
	if err != nil {
		log.Error("httpapi: admin: listing webhook events failed", "error", err)
		s.showOrder(w, r, sess, http.StatusInternalServerError, o.ID, "The webhook deliveries could not be read, so nothing was resent. Try again.", nil)
		return
	}
	var ev *adminWebhookEvent
	for _, e := range adminWebhookEvents(events) {
		if e.EventID == eventID {
			ev = &e
			break
		}
	}
	if ev == nil {
		s.showOrder(w, r, sess, http.StatusNotFound, o.ID, "This order has no webhook event with that id, so nothing was resent.", nil)
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		last := "无 none yet: the first delivery is still queued"
		switch {
		case ev.Last == nil:
		case ev.Last.Delivered:
			last = "已送达 delivered"
		default:
			last = "失败 failed: " + adminOr(ev.Last.Error, "no reason given")
		}
		s.render(w, r, sess, http.StatusOK, "confirm", "确认重发 Confirm the resend", adminConfirmView{
			Question: "重发 Resend this webhook event to the merchant's URL now? The receiver gets the same event id and body again, with a fresh signature.",
			Details: []adminField{
				{"订单 Order", o.OutTradeNo}, {"事件 Event", ev.EventID}, {"类型 Type", ev.EventType},
				{"尝试 Attempts", strconv.Itoa(ev.Attempts)}, {"上次 Last attempt", last},
			},
			Action: s.base + "/orders/" + o.ID + "/webhooks/" + url.PathEscape(ev.EventID) + "/resend",
			Fields: []adminField{{"confirm", "yes"}},
			Button: "确认重发 Resend the event", Cancel: s.base + "/orders/" + o.ID,
		}, "")
		return
	}
	at, err := s.cfg.Webhooks.ResendWebhook(ctx, ev.EventID)
	if err != nil {
		log.Error("httpapi: admin webhook resend failed", "error", err)
		msg := "The webhook could not be resent: the attempt could not be made or recorded. Look at the timeline below before trying again."
		status := http.StatusInternalServerError
		if errors.Is(err, payment.ErrNotFound) {
			msg, status = "The webhook event no longer exists, so nothing was resent.", http.StatusNotFound
		}
		s.showOrder(w, r, sess, status, o.ID, msg, nil)
		return
	}
	log.Info("httpapi: admin webhook resend", "attempt", at.Attempt, "delivered", at.Delivered, "status_code", at.StatusCode)
	q := url.Values{"resent": {ev.EventID}, "attempt": {strconv.Itoa(at.Attempt)}}
	http.Redirect(w, r, s.base+"/orders/"+o.ID+"?"+q.Encode(), http.StatusSeeOther)
}
