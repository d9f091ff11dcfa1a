package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"zhifu/alipay"
	"zhifu/payment"
)

// adminOrderView is the order page's data.
type adminOrderView struct {
	Order *payment.Order
	// Metadata is the order's metadata, sorted by key.
	Metadata []adminField
	// Refundable is what may still be refunded, by the order alone.
	Refundable alipay.Amount
	// CanRefund and CanClose say which forms to show.
	CanRefund, CanClose bool
	Refunds             []payment.Refund
	Timeline            []adminTimelineEntry
	// Webhooks are the order's webhook events, attempted or not, each
	// with a resend form.
	Webhooks []adminWebhookEvent
	// Notice is a result to show in green; Problem in amber.
	Notice, Problem string
	// TimelineNote says what is missing from the timeline, if anything.
	TimelineNote string
	// RefundAmount and RefundReason refill the refund form after an error.
	RefundAmount, RefundReason string
}

// adminTimelineEntry is one line of an order's timeline: an event of its
// log or a webhook attempt.
type adminTimelineEntry struct {
	Event   *payment.OrderEvent
	Webhook *AdminWebhookAttempt
}

// orderPage shows one order: its fields, its timeline, its refunds and
// the forms that act on it.
func (s *adminServer) orderPage(w http.ResponseWriter, r *http.Request, sess *adminSession) {
	s.showOrder(w, r, sess, http.StatusOK, r.PathValue("id"), "", func(v *adminOrderView) {
		q := r.URL.Query()
		if id := q.Get("refund"); id != "" {
			v.Notice, v.Problem = adminRefundResult(v.Refunds, id)
		}
		if id := q.Get("resent"); id != "" {
			n, _ := strconv.Atoi(q.Get("attempt"))
			v.Notice, v.Problem = adminWebhookResult(v.Timeline, id, n)
		}
		if q.Get("closed") != "" {
			switch v.Order.Status {
			case payment.StatusClosed:
				v.Notice = "订单已关闭 The order is closed."
			case payment.StatusPending:
				v.Problem = "The order is still pending: the close was not confirmed. Try again."
			default:
				v.Problem = "The buyer paid before the close: the order is " + string(v.Order.Status) + ", not closed."
			}
		}
	})
}

// adminRefundResult returns the message of the refund id among refunds,
// after the refund form sent the browser back to the order.
func adminRefundResult(refunds []payment.Refund, id string) (notice, problem string) {
	for _, rf := range refunds {
		if rf.ID != id {
			continue
		}
		amount := "¥" + rf.Amount.String()
		switch rf.Status {
		case payment.RefundSucceeded:
			return "退款成功 The refund of " + amount + " succeeded: the money went back to the buyer.", ""
		case payment.RefundFailed:
			return "", "退款失败 Alipay refused the refund of " + amount + ": no money moved."
		default:
			return "", "退款处理中 The refund of " + amount + " is being settled: Alipay has not confirmed it yet. " +
				"It is settled by asking Alipay about this same refund; do not refund again."
		}
	}
	return "", ""
}

// showOrder renders the order id with status, after edit adjusted the
// view; a missing order is a 404 page.
func (s *adminServer) showOrder(w http.ResponseWriter, r *http.Request, sess *adminSession, status int, id, msg string, edit func(*adminOrderView)) {
	ctx := r.Context()
	o, err := s.cfg.Store.GetOrder(ctx, id)
	if err != nil {
		s.orderError(w, r, sess, err)
		return
	}
	v := &adminOrderView{Order: o, Refundable: o.RefundableAmount()}
	v.CanRefund = o.Status.Paid() && !o.Flags.Has(payment.FlagFinished) && v.Refundable > 0
	v.CanClose = o.Status == payment.StatusPending
	for k, val := range o.Metadata {
		v.Metadata = append(v.Metadata, adminField{k, val})
	}
	sort.Slice(v.Metadata, func(i, j int) bool { return v.Metadata[i].Name < v.Metadata[j].Name })
	if v.Refunds, err = s.cfg.Store.ListRefunds(ctx, o.ID); err != nil {
		s.orderError(w, r, sess, err)
		return
	}
	events, err := s.cfg.Store.ListEvents(ctx, o.ID)
	if err != nil {
		s.orderError(w, r, sess, err)
		return
	}
	var hooks []AdminWebhookEvent
	if s.cfg.Webhooks != nil {
		if hooks, err = s.cfg.Webhooks.ListWebhookEvents(ctx, o.ID); err != nil {
			s.log.Error("httpapi: admin: listing webhook events failed", "out_trade_no", o.OutTradeNo, "error", err)
			v.TimelineNote = "The webhook deliveries could not be read; they are missing below."
		}
	}
	v.Timeline = adminMergeTimeline(events, adminWebhookAttempts(hooks))
	v.Webhooks = adminWebhookEvents(hooks)
	if edit != nil {
		edit(v)
	}
	s.render(w, r, sess, status, "order", "订单 "+o.OutTradeNo, v, msg)
}

// adminMergeTimeline merges the order's events (in Seq order) and its
// webhook attempts into one list in time order; an event comes before an
// attempt of the same instant.
func adminMergeTimeline(events []payment.OrderEvent, hooks []AdminWebhookAttempt) []adminTimelineEntry {
	hooks = append([]AdminWebhookAttempt(nil), hooks...)
	sort.SliceStable(hooks, func(i, j int) bool { return hooks[i].At.Before(hooks[j].At) })
	out := make([]adminTimelineEntry, 0, len(events)+len(hooks))
	i, j := 0, 0
	for i < len(events) || j < len(hooks) {
		if j == len(hooks) || (i < len(events) && !hooks[j].At.Before(events[i].CreatedAt)) {
			out = append(out, adminTimelineEntry{Event: &events[i]})
			i++
		} else {
			out = append(out, adminTimelineEntry{Webhook: &hooks[j]})
			j++
		}
	}
	return out
}

// orderError shows the page of an error reading an order.
func (s *adminServer) orderError(w http.ResponseWriter, r *http.Request, sess *adminSession, err error) {
	if errors.Is(err, payment.ErrNotFound) {
		s.fail(w, r, sess, http.StatusNotFound, "订单不存在 Order not found", "No order has this id. Search for it on the orders page.")
		return
	}
	s.log.Error("httpapi: admin: reading an order failed", "error", err)
	s.fail(w, r, sess, http.StatusInternalServerError, "出错了 Something went wrong", "The order could not be read: the database did not answer. Try again.")
}

// adminConfirmView is the confirmation page's data: a question, the facts
// to check, and a form that posts the same fields again, confirmed.
type adminConfirmView struct {
	Question string
	Details  []adminField
	Action   string
	Fields   []adminField
	Button   string
	Danger   bool
	Cancel   string
}

// refund refunds a paid order, after a confirmation page.
func (s *adminServer) refund(w http.ResponseWriter, r *http.Request, sess *adminSession) {
	ctx := r.Context()
	id := r.PathValue("id")
	o, err := s.cfg.Store.GetOrder(ctx, id)
	if err != nil {
		s.orderError(w, r, sess, err)
		return
	}
	amountText, reason := r.PostFormValue("amount"), r.PostFormValue("reason")
	again := func(status int, msg string) {
		s.showOrder(w, r, sess, status, o.ID, msg, func(v *adminOrderView) { v.RefundAmount, v.RefundReason = amountText, reason })
	}
	amount, problem := adminParseYuan(amountText)
	if problem != "" {
		again(http.StatusBadRequest, problem)
		return
	}
	outRequestNo := r.PostFormValue("out_request_no")
	if r.PostFormValue("confirm") != "yes" || outRequestNo == "" {
		s.render(w, r, sess, http.StatusOK, "confirm", "确认退款 Confirm the refund", adminConfirmView{
			Question: fmt.Sprintf("退款 Refund ¥%s to the buyer?", amount),
			Details: []adminField{
				{"订单 Order", o.OutTradeNo}, {"商品 Subject", o.Subject}, {"已付 Paid", "¥" + o.PaidAmount.String()},
				{"可退 Refundable", "¥" + o.RefundableAmount().String()}, {"退款金额 Amount", "¥" + amount.String()}, {"原因 Reason", reason},
			},
			Action: s.base + "/orders/" + o.ID + "/refund",
			Fields: []adminField{{"amount", amount.String()}, {"reason", reason}, {"out_request_no", adminNewOutRequestNo()}, {"confirm", "yes"}},
			Button: "确认退款 Refund ¥" + amount.String(), Danger: true, Cancel: s.base + "/orders/" + o.ID,
		}, "")
		return
	}
	rf, err := s.cfg.Service.Refund(ctx, payment.RefundRequest{OrderID: o.ID, Amount: amount, Reason: reason, OutRequestNo: outRequestNo})
	log := s.log.With("out_trade_no", o.OutTradeNo, "amount", amount.String(), "out_request_no", outRequestNo)
	if err == nil || (rf != nil && !rf.Status.Final()) {
		if err != nil {
			log.Error("httpapi: admin refund: outcome not recorded", "refund_id", rf.ID, "error", err)
		} else {
			log.Info("httpapi: admin refund", "refund_id", rf.ID, "refund_status", rf.Status)
		}
		http.Redirect(w, r, s.base+"/orders/"+o.ID+"?refund="+rf.ID, http.StatusSeeOther)
		return
	}
	log.Warn("httpapi: admin refund failed", "error", err)
	var ae *alipay.Error
	switch {
	case errors.Is(err, payment.ErrRefundRefused):
		msg := "支付宝拒绝退款 Alipay refused the refund; no money moved."
		if errors.As(err, &ae) {
			msg += fmt.Sprintf(" Alipay said: %s (%s).", adminOr(ae.SubMsg, ae.Msg), adminOr(string(ae.SubCode), ae.Code))
		}
		again(http.StatusBadGateway, msg)
	case errors.Is(err, payment.ErrRefundExceeds):
		again(http.StatusUnprocessableEntity, fmt.Sprintf("退款金额超出 The refund of ¥%s exceeds what can still be refunded (¥%s, less refunds still in progress).", amount, o.RefundableAmount()))
	case errors.Is(err, payment.ErrNotRefundable):
		again(http.StatusConflict, "不可退款 This order cannot be refunded: it is not paid, or its refund period is over (TRADE_FINISHED).")
	case errors.Is(err, payment.ErrDuplicate):
		again(http.StatusConflict, "This confirmation was already used for another refund. Fill in the refund form again.")
	case errors.Is(err, payment.ErrInvalid):
		again(http.StatusBadRequest, "The refund was not accepted: the reason may be too long (at most 256 characters) or hold control characters.")
	case errors.Is(err, payment.ErrNotFound):
		s.orderError(w, r, sess, err)
	default:
		again(http.StatusInternalServerError, "The refund could not be completed. Look at the timeline below before trying again.")
	}
}

// adminParseYuan reads an amount in yuan, such as "12.34" or "¥12.34",
// or returns a message saying what is wrong with it.
func adminParseYuan(s string) (alipay.Amount, string) {
	t := s
	for _, p := range []string{"¥", "￥"} {
		if len(t) > len(p) && t[:len(p)] == p {
			t = t[len(p):]
		}
	}
	if t == "" {
		return 0, "Enter the amount to refund, in yuan, such as 12.34."
	}
	a, err := alipay.ParseAmount(t)
	if err != nil || a <= 0 {
		return 0, fmt.Sprintf("The amount %q is not an amount in yuan: write it as 12.34 (at most two decimals, at least 0.01).", s)
	}
	return a, ""
}

// closeOrder closes a pending order, after a confirmation page.
func (s *adminServer) closeOrder(w http.ResponseWriter, r *http.Request, sess *adminSession) {
	ctx := r.Context()
	o, err := s.cfg.Store.GetOrder(ctx, r.PathValue("id"))
	if err != nil {
		s.orderError(w, r, sess, err)
		return
	}
	if o.Status != payment.StatusPending {
		s.showOrder(w, r, sess, http.StatusConflict, o.ID, "Only a pending order can be closed; this one is "+string(o.Status)+".", nil)
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		s.render(w, r, sess, http.StatusOK, "confirm", "确认关闭 Confirm the close", adminConfirmView{
			Question: "关闭订单 Close this order? The buyer can no longer pay it.",
			Details:  []adminField{{"订单 Order", o.OutTradeNo}, {"商品 Subject", o.Subject}, {"金额 Amount", "¥" + o.Amount.String()}},
			Action:   s.base + "/orders/" + o.ID + "/close",
			Fields:   []adminField{{"confirm", "yes"}},
			Button:   "确认关闭 Close the order", Danger: true, Cancel: s.base + "/orders/" + o.ID,
		}, "")
		return
	}
	log := s.log.With("out_trade_no", o.OutTradeNo)
	if _, err := s.cfg.Service.CloseOrder(ctx, o.ID); err != nil {
		log.Warn("httpapi: admin close failed", "error", err)
		s.showOrder(w, r, sess, http.StatusBadGateway, o.ID,
			"关闭失败 Alipay did not confirm the close, so the order is still as shown. Try again in a moment.", nil)
		return
	}
	log.Info("httpapi: admin close")
	http.Redirect(w, r, s.base+"/orders/"+o.ID+"?closed=1", http.StatusSeeOther)
}
