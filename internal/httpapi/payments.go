package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"zhifu/payment"
)

// CreatePaymentRequest is the body of POST /v1/payments.
type CreatePaymentRequest struct {
	// Subject is the title the buyer sees (required, 1 to 256 characters).
	Subject string `json:"subject"`
	// Amount is the amount in yuan as a string, "12.34" (required).
	Amount string `json:"amount"`
	// Channel is page, wap, precreate or app (required).
	Channel string `json:"channel"`
	// ReturnURL is where Alipay sends the buyer's browser after a page or
	// wap payment (optional).
	ReturnURL string `json:"return_url"`
	// OutTradeNo is the merchant's own number for the trade, never used
	// before (optional; default: a new one).
	OutTradeNo string `json:"out_trade_no"`
	// Metadata is the merchant's own data, returned as given (optional).
	Metadata map[string]string `json:"metadata"`
	// ExpiresIn is the buyer's time to pay in seconds, 120 to 1296000
	// (optional; default: the service's, 15 minutes).
	ExpiresIn int64 `json:"expires_in"`
}

// ParseCreatePaymentRequest decodes and checks the body of POST
// /v1/payments into the service's request. Every error names the field
// and says what to send instead.
func ParseCreatePaymentRequest(body []byte) (payment.CreatePaymentRequest, *Error) {
	var in CreatePaymentRequest
	if e := apiDecode(body, &in); e != nil {
		return payment.CreatePaymentRequest{}, e
	}
	if e := apiText("subject", in.Subject, true, payment.MaxSubjectLen); e != nil {
		return payment.CreatePaymentRequest{}, e
	}
	amount, e := apiAmount("amount", in.Amount)
	if e != nil {
		return payment.CreatePaymentRequest{}, e
	}
	ch := payment.Channel(in.Channel)
	switch {
	case in.Channel == "":
		return payment.CreatePaymentRequest{}, apiErrorf(http.StatusBadRequest, CodeMissingField, "channel", "channel is required: page, wap, precreate or app")
	case !ch.Valid():
		return payment.CreatePaymentRequest{}, apiErrorf(http.StatusBadRequest, CodeInvalidField, "channel", "channel %q is unknown: send page, wap, precreate or app", apiCut(in.Channel))
	}
	if e := apiReturnURL(in.ReturnURL); e != nil {
		return payment.CreatePaymentRequest{}, e
	}
	if e := apiTradeNo("out_trade_no", in.OutTradeNo); e != nil {
		return payment.CreatePaymentRequest{}, e
	}
	if e := apiMetadata(in.Metadata); e != nil {
		return payment.CreatePaymentRequest{}, e
	}
	expires := time.Duration(in.ExpiresIn) * time.Second
	if in.ExpiresIn != 0 && (in.ExpiresIn < int64(payment.MinExpiry/time.Second) || in.ExpiresIn > int64(payment.MaxExpiry/time.Second)) {
		return payment.CreatePaymentRequest{}, apiErrorf(http.StatusBadRequest, CodeInvalidField, "expires_in",
			"expires_in: %d seconds is not within %d to %d", in.ExpiresIn, int64(payment.MinExpiry/time.Second), int64(payment.MaxExpiry/time.Second))
	}
	return payment.CreatePaymentRequest{
		Subject: in.Subject, Amount: amount, Channel: ch, ReturnURL: in.ReturnURL,
		OutTradeNo: in.OutTradeNo, Metadata: apiCloneMetadata(in.Metadata), ExpiresIn: expires,
	}, nil
}

// createPayment answers POST /v1/payments: 201 and the payment object.
func (a *api) createPayment(w http.ResponseWriter, r *http.Request, c *apiCall) {
	req, e := ParseCreatePaymentRequest(c.body)
	if e != nil {
		apiWriteError(w, e)
		return
	}
	p, err := a.svc.CreatePayment(r.Context(), req)
	if err != nil {
		log := c.log
		if p != nil && p.Order != nil {
			log = log.With("out_trade_no", p.Order.OutTradeNo, "payment_id", p.Order.ID)
		}
		e := a.serviceError(r.Context(), log, err, CodeDuplicateOutTradeNo)
		if p != nil && p.Order != nil {
			// Stored, but Alipay failed (a precreate): the payment exists
			// and GET prepares it again.
			e.PaymentID = p.Order.ID
			e.Message += "; the payment " + p.Order.ID + " is stored and pending: GET it to try again"
		}
		apiWriteError(w, e)
		return
	}
	c.log.Info("httpapi: payment created", "out_trade_no", p.Order.OutTradeNo, "payment_id", p.Order.ID, "amount", p.Order.Amount.String(), "channel", p.Order.Channel)
	w.Header().Set("Location", "/v1/payments/"+p.Order.ID)
	apiWriteJSON(w, http.StatusCreated, apiPaymentObject(p.Order, p))
}

// getPayment answers GET /v1/payments/{id}: the payment object, with
// what the buyer needs to pay it while it is pending.
func (a *api) getPayment(w http.ResponseWriter, r *http.Request, c *apiCall) {
	o, err := a.svc.GetOrder(r.Context(), r.PathValue("id"))
	if err != nil {
		apiWriteError(w, a.serviceError(r.Context(), c.log, err, ""))
		return
	}
	var p *payment.Payment
	if o.Status == payment.StatusPending {
		// Signed anew (no network), or for precreate asked again with the
		// same out_trade_no; without it the object is still right.
		if p, err = a.svc.PaymentFor(r.Context(), o); err != nil {
			c.log.Warn("httpapi: preparing the pending payment again failed", "out_trade_no", o.OutTradeNo, "error", err)
		}
	}
	apiWriteJSON(w, http.StatusOK, apiPaymentObject(o, p))
}

// Limits of a listing.
const (
	apiDefaultLimit = 20
	apiMaxLimit     = 100
)

// listPayments answers GET /v1/payments: a page of payments, newest
// first, filtered by status and creation time.
func (a *api) listPayments(w http.ResponseWriter, r *http.Request, c *apiCall) {
	f, e := apiOrderFilter(r.URL.Query())
	if e != nil {
		apiWriteError(w, e)
		return
	}
	page, err := a.svc.ListOrders(r.Context(), f)
	if errors.Is(err, payment.ErrInvalid) {
		apiWriteError(w, apiErrorf(http.StatusBadRequest, CodeInvalidParameter, "cursor", "cursor is not a next_cursor of this listing"))
		return
	}
	if err != nil {
		apiWriteError(w, a.serviceError(r.Context(), c.log, err, ""))
		return
	}
	data := make([]PaymentObject, len(page.Orders))
	for i := range page.Orders {
		data[i] = apiPaymentObject(&page.Orders[i], nil)
	}
	apiWriteJSON(w, http.StatusOK, apiList(data, page.Next))
}

// apiOrderFilter reads the query parameters of GET /v1/payments.
func apiOrderFilter(q url.Values) (payment.OrderFilter, *Error) {
	f := payment.OrderFilter{Limit: apiDefaultLimit}
	bad := func(field, format string, args ...any) (payment.OrderFilter, *Error) {
		return payment.OrderFilter{}, apiErrorf(http.StatusBadRequest, CodeInvalidParameter, field, format, args...)
	}
	for name, vs := range q {
		if !slices.Contains([]string{"status", "created_from", "created_to", "limit", "cursor"}, name) {
			return bad(name, "unknown parameter %q; the parameters are status, created_from, created_to, limit and cursor", apiCut(name))
		}
		if len(vs) > 1 && name != "status" {
			return bad(name, "%s is given %d times; give it once", name, len(vs))
		}
	}
	for _, v := range q["status"] {
		for _, s := range strings.Split(v, ",") {
			st := payment.Status(s)
			if !st.Valid() {
				return bad("status", "status %q is unknown: pending, paid, partially_refunded, refunded or closed (comma-separated for several)", apiCut(s))
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	var err error
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"created_from", &f.CreatedFrom}, {"created_to", &f.CreatedTo}} {
		if v := q.Get(t.name); v != "" {
			if *t.dst, err = time.Parse(time.RFC3339, v); err != nil {
				return bad(t.name, "%s %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", t.name, apiCut(v))
			}
		}
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && !f.CreatedFrom.Before(f.CreatedTo) {
		return bad("created_to", "created_to must be after created_from")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > apiMaxLimit {
			return bad("limit", "limit %q: want an integer from 1 to %d", apiCut(v), apiMaxLimit)
		}
		f.Limit = n
	}
	f.Cursor = q.Get("cursor")
	return f, nil
}

// closePayment answers POST /v1/payments/{id}/close: the pending payment
// is closed at Alipay and here; a closed one is returned as it is.
func (a *api) closePayment(w http.ResponseWriter, r *http.Request, c *apiCall) {
	if e := apiNoFields(c.body); e != nil {
		apiWriteError(w, e)
		return
	}
	o, err := a.svc.CloseOrder(r.Context(), r.PathValue("id")) // one that is not pending comes back as it is
	if err != nil {
		apiWriteError(w, a.serviceError(r.Context(), c.log, err, ""))
		return
	}
	if o.Status != payment.StatusClosed {
		e := apiErrorf(http.StatusConflict, CodeNotClosable, "", "the payment is %s and cannot be closed; refund it instead", o.Status)
		e.PaymentID = o.ID
		apiWriteError(w, e)
		return
	}
	c.log.Info("httpapi: payment closed", "out_trade_no", o.OutTradeNo, "payment_id", o.ID)
	apiWriteJSON(w, http.StatusOK, apiPaymentObject(o, nil))
}

// listEvents answers GET /v1/payments/{id}/events: the payment's audit
// trail, oldest first.
func (a *api) listEvents(w http.ResponseWriter, r *http.Request, c *apiCall) {
	evs, err := a.svc.ListEvents(r.Context(), r.PathValue("id"))
	if err != nil {
		apiWriteError(w, a.serviceError(r.Context(), c.log, err, ""))
		return
	}
	data := make([]EventObject, len(evs))
	for i := range evs {
		data[i] = apiEventObject(&evs[i])
	}
	apiWriteJSON(w, http.StatusOK, apiList(data, ""))
}
