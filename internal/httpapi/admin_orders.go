package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

// Sizes of the orders page.
const (
	adminOrdersPageSize = 50
	adminMaxSearchLen   = 128
)

// adminDateLayout is the layout of the date filters (an HTML date input).
const adminDateLayout = "2006-01-02"

// adminOrdersView is the orders page's data.
type adminOrdersView struct {
	// Statuses are the status filters, each with whether it is selected.
	Statuses []adminStatusChoice
	// From and To are the date filters as entered.
	From, To string
	// Query is the search as entered.
	Query string
	// Searched reports whether a search was made (filters are ignored).
	Searched bool
	// Note explains a search that found nothing.
	Note string
	// Orders are the page's orders.
	Orders []payment.Order
	// NextURL is the next page's link, or "".
	NextURL string
	// FirstURL is the first page's link when this is a later page.
	FirstURL string
}

// adminStatusChoice is one status filter.
type adminStatusChoice struct {
	Status   payment.Status
	Label    adminLabel
	Selected bool
}

// ordersPage lists the orders, newest first, with filters by status and
// creation date, a search by id, out_trade_no or trade_no, and cursor
// paging.
func (s *adminServer) ordersPage(w http.ResponseWriter, r *http.Request, sess *adminSession) {
	q := r.URL.Query()
	v := adminOrdersView{From: q.Get("from"), To: q.Get("to"), Query: strings.TrimSpace(q.Get("q"))}
	f, problem := adminOrderFilter(q)
	for _, st := range adminStatusOrder {
		sel := false
		for _, fs := range f.Statuses {
			sel = sel || fs == st
		}
		v.Statuses = append(v.Statuses, adminStatusChoice{Status: st, Label: adminStatusLabels[st], Selected: sel})
	}
	if problem != "" {
		s.render(w, r, sess, http.StatusBadRequest, "orders", "订单 Orders", v, problem)
		return
	}
	if v.Query != "" {
		v.Searched = true
		o, note, err := s.search(r.Context(), v.Query)
		if err != nil {
			s.log.Error("httpapi: admin order search failed", "error", err)
			s.render(w, r, sess, http.StatusInternalServerError, "orders", "订单 Orders", v, "The search failed: the database did not answer. Try again.")
			return
		}
		if o != nil {
			v.Orders = []payment.Order{*o}
		}
		v.Note = note
		s.render(w, r, sess, http.StatusOK, "orders", "订单 Orders", v, "")
		return
	}
	f.Limit = adminOrdersPageSize
	page, err := s.cfg.Store.ListOrders(r.Context(), f)
	switch {
	case errors.Is(err, payment.ErrInvalid):
		s.render(w, r, sess, http.StatusBadRequest, "orders", "订单 Orders", v,
			"This page link is malformed or out of date. Start again from the first page.")
		return
	case err != nil:
		s.log.Error("httpapi: admin order listing failed", "error", err)
		s.render(w, r, sess, http.StatusInternalServerError, "orders", "订单 Orders", v, "The orders could not be read: the database did not answer. Try again.")
		return
	}
	v.Orders = page.Orders
	if page.Next != "" {
		nq := adminCopyQuery(q)
		nq.Set("cursor", page.Next)
		v.NextURL = s.base + "/orders?" + nq.Encode()
	}
	if f.Cursor != "" {
		fq := adminCopyQuery(q)
		fq.Del("cursor")
		v.FirstURL = s.base + "/orders?" + fq.Encode()
	}
	s.render(w, r, sess, http.StatusOK, "orders", "订单 Orders", v, "")
}

// adminCopyQuery returns a copy of q with only the filters of the orders
// page.
func adminCopyQuery(q url.Values) url.Values {
	c := url.Values{}
	for _, k := range []string{"status", "from", "to", "cursor"} {
		for _, v := range q[k] {
			if v != "" {
				c.Add(k, v)
			}
		}
	}
	return c
}

// adminOrderFilter reads the orders page's filters from its query: any
// number of status, from and to as dates in Beijing time (both days
// included), and cursor. A problem is returned as a message that says
// which filter is wrong and how to write it.
func adminOrderFilter(q url.Values) (f payment.OrderFilter, problem string) {
	for _, st := range q["status"] {
		if st == "" {
			continue
		}
		if !payment.Status(st).Valid() {
			return f, fmt.Sprintf("Unknown status %q: choose among the status boxes.", st)
		}
		f.Statuses = append(f.Statuses, payment.Status(st))
	}
	day := func(name, s string) (time.Time, string) {
		if s == "" {
			return time.Time{}, ""
		}
		t, err := time.Parse(adminDateLayout, s)
		if err != nil {
			return time.Time{}, fmt.Sprintf("The %s date %q is not a date: write it as 2026-01-31.", name, s)
		}
		// Midnight in Beijing time.
		bj, err := alipay.ParseTime(t.Format(adminDateLayout) + " 00:00:00")
		if err != nil {
			return time.Time{}, fmt.Sprintf("The %s date %q is out of range.", name, s)
		}
		return bj, ""
	}
	if f.CreatedFrom, problem = day("from", q.Get("from")); problem != "" {
		return f, problem
	}
	to, problem := day("to", q.Get("to"))
	if problem != "" {
		return f, problem
	}
	if !to.IsZero() {
		f.CreatedTo = to.AddDate(0, 0, 1)
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && !f.CreatedFrom.Before(f.CreatedTo) {
		return f, "The from date is after the to date: swap them."
	}
	f.Cursor = q.Get("cursor")
	return f, ""
}

// search finds the order whose id, out_trade_no or Alipay trade_no is q
// exactly, or returns a nil order with a note saying where it looked.
func (s *adminServer) search(ctx context.Context, q string) (*payment.Order, string, error) {
	if len(q) > adminMaxSearchLen {
		return nil, "The search is too long to be an order id, an out_trade_no or a trade_no.", nil
	}
	o, err := s.cfg.Store.GetOrder(ctx, q)
	if err == nil || !errors.Is(err, payment.ErrNotFound) {
		return o, "", err
	}
	o, err = s.cfg.Store.GetOrderByOutTradeNo(ctx, q)
	if err == nil || !errors.Is(err, payment.ErrNotFound) {
		return o, "", err
	}
	o, err = s.cfg.Store.GetOrderByTradeNo(ctx, q)
	if err == nil || !errors.Is(err, payment.ErrNotFound) {
		return o, "", err
	}
	return nil, "No order has this id, out_trade_no or trade_no.", nil
}
