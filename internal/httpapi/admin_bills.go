package httpapi

import (
	"net/http"
)

// adminBillsLimit is how many bill differences the page shows.
const adminBillsLimit = 500

// adminBillsView is the bill differences page's data.
type adminBillsView struct {
	Differences []AdminBillDifference
	Limit       int
}

// billsPage lists the differences between Alipay's bills and the
// database, when AdminConfig.Bills is set.
func (s *adminServer) billsPage(w http.ResponseWriter, r *http.Request, sess *adminSession) {
	if s.cfg.Bills == nil {
		s.fail(w, r, sess, http.StatusNotFound, "未启用 Not enabled", "Bill reconciliation is not configured for this service.")
		return
	}
	d, err := s.cfg.Bills.ListBillDifferences(r.Context(), adminBillsLimit)
	if err != nil {
		s.log.Error("httpapi: admin: listing bill differences failed", "error", err)
		s.render(w, r, sess, http.StatusInternalServerError, "bills", "对账差异 Bill differences", adminBillsView{Limit: adminBillsLimit}, "The bill differences could not be read. Try again.")
		return
	}
	s.render(w, r, sess, http.StatusOK, "bills", "对账差异 Bill differences", adminBillsView{Differences: d, Limit: adminBillsLimit}, "")
}
