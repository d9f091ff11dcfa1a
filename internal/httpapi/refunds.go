package httpapi

import (
	"errors"
	"net/http"

	"zhifu/payment"
)

// CreateRefundRequest is the body of POST /v1/payments/{id}/refunds.
type CreateRefundRequest struct {
	// Amount is what to give back, in yuan as a string, "1.00" (required).
	Amount string `json:"amount"`
	// Reason is shown to the buyer (optional, at most 256 characters).
	Reason string `json:"reason"`
	// OutRequestNo is the refund's number at Alipay (optional; default: a
	// new one). The same out_request_no and amount is the same refund.
	OutRequestNo string `json:"out_request_no"`
}

// ParseCreateRefundRequest decodes and checks the body of a refund of
// payment orderID.
func ParseCreateRefundRequest(orderID string, body []byte) (payment.RefundRequest, *Error) {
	var in CreateRefundRequest
	if e := apiDecode(body, &in); e != nil {
		return payment.RefundRequest{}, e
	}
	amount, e := apiAmount("amount", in.Amount)
	if e != nil {
		return payment.RefundRequest{}, e
	}
	if e := apiText("reason", in.Reason, false, payment.MaxRefundReasonLen); e != nil {
		return payment.RefundRequest{}, e
	}
	if e := apiTradeNo("out_request_no", in.OutRequestNo); e != nil {
		return payment.RefundRequest{}, e
	}
	return payment.RefundRequest{OrderID: orderID, Amount: amount, Reason: in.Reason, OutRequestNo: in.OutRequestNo}, nil
}

// createRefund answers POST /v1/payments/{id}/refunds: 201 and the refund
// object, succeeded, or pending or unknown while Alipay's answer is
// settled (GET the refunds later).
func (a *api) createRefund(w http.ResponseWriter, r *http.Request, c *apiCall) {
	req, e := ParseCreateRefundRequest(r.PathValue("id"), c.body)
	if e != nil {
		apiWriteError(w, e)
		return
	}
	ref, err := a.svc.Refund(r.Context(), req)
	if err != nil {
		e := a.serviceError(r.Context(), c.log.With("payment_id", req.OrderID), err, CodeDuplicateOutRequestNo)
		if ref != nil && errors.Is(err, payment.ErrRefundRefused) {
			e.RefundID = ref.ID
		}
		apiWriteError(w, e)
		return
	}
	c.log.Info("httpapi: refund made", "payment_id", req.OrderID, "refund_id", ref.ID, "amount", ref.Amount.String(), "refund_status", ref.Status)
	apiWriteJSON(w, http.StatusCreated, apiRefundObject(ref))
}

// listRefunds answers GET /v1/payments/{id}/refunds: the payment's
// refunds, oldest first.
func (a *api) listRefunds(w http.ResponseWriter, r *http.Request, c *apiCall) {
	id := r.PathValue("id")
	if _, err := a.svc.GetOrder(r.Context(), id); err != nil {
		apiWriteError(w, a.serviceError(r.Context(), c.log, err, ""))
		return
	}
	rs, err := a.svc.ListRefunds(r.Context(), id)
	if err != nil {
		apiWriteError(w, a.serviceError(r.Context(), c.log, err, ""))
		return
	}
	data := make([]RefundObject, len(rs))
	for i := range rs {
		data[i] = apiRefundObject(&rs[i])
	}
	apiWriteJSON(w, http.StatusOK, apiList(data, ""))
}
