package httpapi

import (
	"crypto/rand"
	"errors"
	"net/http"
	"strconv"

	"zhifu/payment"
)

// adminQuarantinePageSize is how many quarantined notifies one page shows.
const adminQuarantinePageSize = 50

// adminQuarantineView is the quarantine page's data.
type adminQuarantineView struct {
	Entries []payment.QuarantinedNotify
	// All reports whether replayed entries are shown too.
	All bool
	// NextURL is the next page's link, or "".
	NextURL string
	// Notice is a replay's result.
	Notice string
	// OrderID links to the order a replay applied.
	OrderID string
}

// quarantinePage lists the notifies that were signed but not applied,
// with their reason and raw body, oldest first.
func (s *adminServer) quarantinePage(w http.ResponseWriter, r *http.Request, sess *adminSession) {
	s.showQuarantine(w, r, sess, http.StatusOK, "")
}

// showQuarantine renders the quarantine page with status and an error
// message when msg is not "".
func (s *adminServer) showQuarantine(w http.ResponseWriter, r *http.Request, sess *adminSession, status int, msg string) {
	q := r.URL.Query()
	v := adminQuarantineView{All: q.Get("all") != ""}
	f := payment.QuarantineFilter{IncludeReplayed: v.All, Limit: adminQuarantinePageSize}
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			s.render(w, r, sess, http.StatusBadRequest, "quarantine", "隔离通知 Quarantine", v, "This page link is malformed. Start again from the first page.")
			return
		}
		f.AfterID = n
	}
	entries, err := s.cfg.Store.ListQuarantined(r.Context(), f)
	if err != nil {
		s.log.Error("httpapi: admin: listing the quarantine failed", "error", err)
		s.render(w, r, sess, http.StatusInternalServerError, "quarantine", "隔离通知 Quarantine", v, "The quarantine could not be read: the database did not answer. Try again.")
		return
	}
	v.Entries = entries
	if len(entries) == f.Limit {
		next := "after=" + strconv.FormatInt(entries[len(entries)-1].ID, 10)
		if v.All {
			next += "&all=1"
		}
		v.NextURL = s.base + "/quarantine?" + next
	}
	if id := q.Get("replayed"); id != "" {
		if o, err := s.cfg.Store.GetOrder(r.Context(), q.Get("order")); err == nil {
			v.Notice = "已重放 Notify #" + id + " was replayed and applied: order " + o.OutTradeNo + " is now " + adminStatusLabels[o.Status].EN + "."
			v.OrderID = o.ID
		}
	}
	s.render(w, r, sess, status, "quarantine", "隔离通知 Quarantine", v, msg)
}

// replay runs a quarantined notify through the notify's checks again.
func (s *adminServer) replay(w http.ResponseWriter, r *http.Request, sess *adminSession) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, sess, http.StatusNotFound, "通知不存在 Notify not found", "No quarantined notify has this number.")
		return
	}
	o, err := s.cfg.Service.ReplayQuarantined(r.Context(), id)
	log := s.log.With("quarantine_id", id)
	switch {
	case err == nil:
		log.Info("httpapi: admin replay applied", "out_trade_no", o.OutTradeNo)
		http.Redirect(w, r, s.base+"/quarantine?replayed="+strconv.FormatInt(id, 10)+"&order="+o.ID, http.StatusSeeOther)
	case errors.Is(err, payment.ErrNotFound):
		s.fail(w, r, sess, http.StatusNotFound, "通知不存在 Notify not found", "No quarantined notify has this number.")
	case errors.Is(err, payment.ErrConflict):
		s.showQuarantine(w, r, sess, http.StatusConflict, "Notify #"+strconv.FormatInt(id, 10)+" was already replayed.")
	case errors.Is(err, payment.ErrNotifyRejected):
		log.Warn("httpapi: admin replay still rejected", "error", err)
		s.showQuarantine(w, r, sess, http.StatusUnprocessableEntity, "仍被拒绝 Notify #"+strconv.FormatInt(id, 10)+" is still rejected, so it stays in quarantine: "+err.Error())
	default:
		log.Error("httpapi: admin replay failed", "error", err)
		s.showQuarantine(w, r, sess, http.StatusInternalServerError, "The replay could not be completed. Try again.")
	}
}

// adminNewOutRequestNo returns a new out_request_no for a refund made on
// the pages: chosen when the confirmation is shown, so that sending the
// confirmed form twice makes one refund.
func adminNewOutRequestNo() string {
	return "ADM" + rand.Text()
}
