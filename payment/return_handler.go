package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// HandleReturn handles the sync return of the buyer's browser to
// return_url, whose query is query, and returns the order as the database
// knows it. The return proves nothing about payment and never marks an
// order paid: HandleReturn verifies its signature (ErrReturnInvalid
// otherwise: forged, unsigned or of another app), records it in the
// order's log and, if the order is still pending, asks trade.query —
// bounded by Config.QueryTimeout, so that the buyer is not kept waiting —
// and applies what Alipay says through ApplyTradeResult. A query that
// fails or times out is logged; the order is then returned as it is
// (pending: the notify or reconciliation will settle it).
func (s *Service) HandleReturn(ctx context.Context, query url.Values) (*Order, error) {
	ret, err := s.ali.VerifyReturn(query)
	if err != nil {
		s.log.Warn("payment: return refused: not verified; nothing changed", "out_trade_no", query.Get("out_trade_no"), "error", err)
		return nil, fmt.Errorf("%w: %w", ErrReturnInvalid, err)
	}
	o, err := s.GetOrderByOutTradeNo(ctx, ret.OutTradeNo)
	if err != nil {
		s.log.Warn("payment: return for an unknown order", "out_trade_no", ret.OutTradeNo, "error", err)
		return nil, err
	}
	log := s.orderLog(o)
	reason := "the buyer came back"
	if ret.TotalAmount != 0 && ret.TotalAmount != o.Amount || s.cfg.SellerID != "" && ret.SellerID != s.cfg.SellerID {
		// Signed, but not about this order as we know it: show the order,
		// believe nothing of the return.
		reason = fmt.Sprintf("the return does not match the order (total_amount %s, seller_id %q); ignored", ret.TotalAmount, ret.SellerID)
		log.Warn("payment: return does not match the order", "total_amount", ret.TotalAmount.String(), "seller_id", ret.SellerID)
	}
	ev := OrderEvent{Kind: EventReturnReceived, Source: SourceReturn, Raw: []byte(query.Encode()), Verified: true, Reason: safeText(reason)}
	if err := s.store.AppendEvents(ctx, o.ID, ev); err != nil {
		log.Error("payment: recording the return failed", "error", err)
	}
	if o.Status != StatusPending {
		log.Info("payment: return: order already settled", "status", o.Status)
		return o, nil
	}
	qctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	n, err := s.query(qctx, o)
	if err != nil {
		log.Warn("payment: return: trade.query failed; showing the order as stored", "error", err)
		return s.GetOrder(ctx, o.ID)
	}
	log.Info("payment: return: order after trade.query", "status", n.Status)
	return n, nil
}

// ReturnHandler returns a handler of the sync return at Config.ReturnURL:
// it calls HandleReturn and shows the order as the database knows it — a
// minimal HTML page, or JSON when the request accepts application/json.
// A return that does not verify is answered 400 and changes nothing; one
// for an unknown order 404.
func (s *Service) ReturnHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		o, err := s.HandleReturn(r.Context(), r.URL.Query())
		status := http.StatusOK
		view := returnView{}
		switch {
		case errors.Is(err, ErrReturnInvalid):
			status, view.Error = http.StatusBadRequest, "This return from Alipay could not be verified. Nothing was changed."
		case errors.Is(err, ErrNotFound):
			status, view.Error = http.StatusNotFound, "No such order."
		case err != nil:
			status, view.Error = http.StatusInternalServerError, "The order cannot be shown right now. Please try again."
		default:
			view = returnViewOf(o)
		}
		w.Header().Set("Cache-Control", "no-store")
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(view)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		returnPage.Execute(w, view)
	})
}

// returnView is what the return page shows.
type returnView struct {
	Error      string `json:"error,omitempty"`
	OrderID    string `json:"order_id,omitempty"`
	OutTradeNo string `json:"out_trade_no,omitempty"`
	Subject    string `json:"subject,omitempty"`
	Amount     string `json:"amount,omitempty"`
	Status     Status `json:"status,omitempty"`
	Paid       bool   `json:"paid"`
}

func returnViewOf(o *Order) returnView {
	return returnView{
		OrderID: o.ID, OutTradeNo: o.OutTradeNo, Subject: o.Subject,
		Amount: o.Amount.String(), Status: o.Status, Paid: o.Status.Paid(),
	}
}

// returnPage is the minimal return page.
var returnPage = template.Must(template.New("return").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Payment</title></head><body>
{{if .Error}}<h1>Payment</h1><p>{{.Error}}</p>
{{else}}<h1>{{if .Paid}}Paid{{else if eq .Status "pending"}}Waiting for the payment{{else}}Order {{.Status}}{{end}}</h1>
<p>{{.Subject}} — ¥{{.Amount}}</p>
<p>Order {{.OutTradeNo}}: <strong>{{.Status}}</strong></p>
{{if eq .Status "pending"}}<p>Alipay has not confirmed the payment yet. This page shows it once it has; reload in a moment.</p>{{end}}
{{end}}</body></html>
`))
