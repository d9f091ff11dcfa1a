package shop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	qrcode "github.com/skip2/go-qrcode"

	"zhifu/payment"
)

// maxShownOrders is how many of the buyer's orders "my orders" shows.
const maxShownOrders = 100

// orderView is an order as the pages show it.
type orderView struct {
	ID, OutTradeNo, Subject, Body string
	Amount                        string
	Status                        statusLabel
	StatusCode                    payment.Status
	Channel                       statusLabel
	ChannelCode                   payment.Channel
	Created, Paid, Closed         string
	Refunded                      string // the refunded total, "" when none
	Refundable                    string // what a refund would give back, "" when nothing
	Refunds                       []refundView
	Picture                       string
}

// refundView is a refund as the pages show it.
type refundView struct {
	Amount  string
	Status  statusLabel
	Created string
}

// orderData is the data of the order page.
type orderData struct {
	Order orderView
	// Returned is set when the buyer just came back from the cashier.
	Returned bool
	// QR is the QR code of a pending precreate order, as a data: URL,
	// and ScanURL the sandbox page it encodes; QRError says why neither
	// could be had.
	QR      template.URL
	ScanURL string
	QRError bool
}

// ordersData is the data of "my orders".
type ordersData struct {
	Orders    []orderView
	Truncated bool
	Notice    string
}

// ownOrder returns the order {id} of the request if it belongs to the
// request's buyer. Otherwise it shows the error page and returns nil: an
// order of another buyer is "not found", as if it did not exist.
func (s *Shop) ownOrder(w http.ResponseWriter, r *http.Request, b string) *payment.Order {
	o, err := s.svc.GetOrder(r.Context(), r.PathValue("id"))
	switch {
	case err == nil && o.Metadata[MetadataBuyer] == b:
		return o
	case err == nil || errors.Is(err, payment.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "找不到这个订单（订单只能在下单的浏览器中查看）。",
			"No such order here (an order can be seen only in the browser it was placed in).", nil)
	default:
		s.fail(w, r, http.StatusServiceUnavailable, "暂时无法读取订单，请稍后再试。", "The order could not be read just now; try again in a moment.", err)
	}
	return nil
}

// view returns the view of o with its refunds.
func (s *Shop) view(ctx context.Context, o *payment.Order) orderView {
	v := orderView{
		ID: o.ID, OutTradeNo: o.OutTradeNo, Subject: o.Subject, Body: o.Body,
		Amount:      yuan(o.Amount),
		Status:      orderLabel(o.Status),
		StatusCode:  o.Status,
		Channel:     channelLabel(o.Channel),
		ChannelCode: o.Channel,
		Created:     beijing(o.CreatedAt),
		Paid:        beijing(o.PaidAt),
		Closed:      beijing(o.ClosedAt),
		Picture:     "gift",
	}
	if p, ok := s.byID[o.Metadata[MetadataProduct]]; ok && p.Picture != "" {
		v.Picture = p.Picture
	}
	if o.RefundedAmount > 0 {
		v.Refunded = yuan(o.RefundedAmount)
	}
	if a := o.RefundableAmount(); a > 0 {
		v.Refundable = yuan(a)
	}
	if o.Status == payment.StatusPending {
		return v
	}
	refunds, err := s.svc.ListRefunds(ctx, o.ID)
	if err != nil {
		s.log.Warn("shop: listing an order's refunds failed", "order_id", o.ID, "error", err)
	}
	for _, rf := range refunds {
		st := refundLabel(rf.Status)
		if !st.Settled {
			// A refund in flight: the order page keeps asking.
			v.Status.Settled = false
		}
		v.Refunds = append(v.Refunds, refundView{Amount: yuan(rf.Amount), Status: st, Created: beijing(rf.CreatedAt)})
	}
	return v
}

// serveOrder shows one order of the buyer: its true status from the
// database, and for a pending QR payment the code to scan.
func (s *Shop) serveOrder(w http.ResponseWriter, r *http.Request) {
	b := buyer(w, r)
	o := s.ownOrder(w, r, b)
	if o == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	d := orderData{Order: s.view(ctx, o), Returned: r.URL.Query().Has("returned")}
	if o.Status == payment.StatusPending && o.Channel == payment.ChannelPrecreate {
		// PaymentOf sends the same precreate again: Alipay answers the
		// same code for the same out_trade_no.
		pay, err := s.svc.PaymentOf(ctx, o.ID)
		var png []byte
		if err == nil {
			png, err = qrcode.Encode(pay.QRCode, qrcode.Medium, 256)
		}
		if err != nil {
			s.log.Warn("shop: the QR code of an order could not be made", "order_id", o.ID, "error", err)
			d.QRError = true
		} else {
			d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
			d.ScanURL = pay.QRCode
		}
	}
	s.render(w, r, "order", o.Subject+" · 订单 Order", "orders", d)
}

// statusJSON is the answer of an order's status endpoint, which the order
// pages poll.
type statusJSON struct {
	Status  payment.Status `json:"status"`
	Zh      string         `json:"zh"`
	En      string         `json:"en"`
	Settled bool           `json:"settled"`
}

// serveOrderStatus answers the order's status as JSON.
func (s *Shop) serveOrderStatus(w http.ResponseWriter, r *http.Request) {
	b := buyer(w, r)
	o, err := s.svc.GetOrder(r.Context(), r.PathValue("id"))
	if err != nil || o.Metadata[MetadataBuyer] != b {
		code := http.StatusNotFound
		if err != nil && !errors.Is(err, payment.ErrNotFound) {
			code = http.StatusServiceUnavailable
			s.log.Warn("shop: reading an order's status failed", "error", err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(`{"error":"no such order"}`))
		return
	}
	v := s.view(r.Context(), o)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(statusJSON{Status: o.Status, Zh: v.Status.Zh, En: v.Status.En, Settled: v.Status.Settled})
}

// serveMyOrders lists the buyer's orders, newest first.
func (s *Shop) serveMyOrders(w http.ResponseWriter, r *http.Request) {
	b := buyer(w, r)
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	var d ordersData
	f := payment.OrderFilter{Limit: 500}
	for scanned := 0; scanned < MaxScannedOrders; {
		pg, err := s.orders.ListOrders(ctx, f)
		if err != nil {
			s.fail(w, r, http.StatusServiceUnavailable, "暂时无法读取订单，请稍后再试。", "The orders could not be read just now; try again in a moment.", err)
			return
		}
		for i := range pg.Orders {
			o := &pg.Orders[i]
			if o.Metadata[MetadataBuyer] != b {
				continue
			}
			if len(d.Orders) == maxShownOrders {
				d.Truncated = true
				break
			}
			d.Orders = append(d.Orders, s.view(ctx, o))
		}
		scanned += len(pg.Orders)
		if pg.Next == "" || d.Truncated {
			break
		}
		f.Cursor = pg.Next
	}
	switch r.URL.Query().Get("notice") {
	case "refund":
		d.Notice = "refund"
	}
	s.render(w, r, "orders", "我的订单 · My orders", "orders", d)
}

// serveRefund refunds what is left of one of the buyer's paid orders.
func (s *Shop) serveRefund(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	b := buyer(w, r)
	if !s.checkPost(r, b) {
		s.fail(w, r, http.StatusForbidden, "表单已过期或不是来自本店，请刷新页面后重试。",
			"This form has expired or did not come from this shop: reload the page and try again.", nil)
		return
	}
	o := s.ownOrder(w, r, b)
	if o == nil {
		return
	}
	amount := o.RefundableAmount()
	if amount <= 0 {
		s.fail(w, r, http.StatusConflict, "这个订单没有可退的金额。", "There is nothing left to refund on this order.", nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	earlier, err := s.svc.ListRefunds(ctx, o.ID)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "暂时无法退款，请稍后再试。", "The refund cannot be made now; try again in a moment.", err)
		return
	}
	refund, err := s.svc.Refund(ctx, payment.RefundRequest{
		OrderID: o.ID,
		Amount:  amount,
		Reason:  "演示商店退款 demo shop refund",
		// One number per refunded total and number of earlier refunds:
		// a form sent twice (a double click) asks for the same refund,
		// which Alipay makes once; a refund asked again after Alipay
		// refused one is a new request (the refused number's answer
		// would only be the refusal again).
		OutRequestNo: "shop_" + strconv.FormatInt(o.RefundedAmount.Fen(), 10) + "_" + strconv.Itoa(len(earlier)),
	})
	if err == nil && refund.Status == payment.RefundFailed {
		err = fmt.Errorf("refund %s: %w", refund.ID, payment.ErrRefundRefused)
	}
	switch {
	case errors.Is(err, payment.ErrNotRefundable), errors.Is(err, payment.ErrRefundExceeds):
		s.fail(w, r, http.StatusConflict, "这个订单不能再退款了。", "This order cannot be refunded (any more).", err)
		return
	case errors.Is(err, payment.ErrRefundRefused):
		s.fail(w, r, http.StatusBadGateway, "支付宝拒绝了这笔退款，没有退回任何款项。", "Alipay refused the refund; no money moved.", err)
		return
	case err != nil:
		s.fail(w, r, http.StatusBadGateway, "退款请求没有完成，请稍后在“我的订单”中查看结果。",
			"The refund request did not complete; look at My orders in a moment to see how it stands.", err)
		return
	}
	http.Redirect(w, r, "/orders?notice=refund", http.StatusSeeOther)
}

// refundFormData is what the refund button of an order needs.
type refundFormData struct {
	Order orderView
	CSRF  string
}

// refundForm joins an order and the form token for the refund button's
// template.
func refundForm(o orderView, csrf string) refundFormData {
	return refundFormData{Order: o, CSRF: csrf}
}
