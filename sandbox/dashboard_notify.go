package sandbox

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The dashboard's notify parts: a trade's notifies and their attempts on
// its page, resending one, and the notify faults on the faults page.

// resendWait bounds how long the dashboard waits for a resent notify to be
// answered before it shows the trade again.
const resendWait = 5 * time.Second

// tradeView is the data of a trade's page.
type tradeView struct {
	TradeSnapshot
	Notifications []notifyView
}

// notifyView is a notify of the trade with its attempts.
type notifyView struct {
	Notification
	Attempts []NotifyAttempt
}

// tradeView returns t with its notifies.
func (s *Sandbox) tradeView(t TradeSnapshot) tradeView {
	v := tradeView{TradeSnapshot: t}
	attempts := s.NotifyAttempts(t.AppID, t.OutTradeNo)
	for _, n := range s.Notifications(t.AppID) {
		if n.OutTradeNo != t.OutTradeNo {
			continue
		}
		nv := notifyView{Notification: n}
		for _, a := range attempts {
			if a.NotifyID == n.NotifyID {
				nv.Attempts = append(nv.Attempts, a)
			}
		}
		v.Notifications = append(v.Notifications, nv)
	}
	return v
}

// describeNotifyFault says what f does, in the control API's field names:
// "duplicate=2 concurrent delay=30s"; "" for no fault.
func describeNotifyFault(f NotifyFault) string {
	var parts []string
	add := func(on bool, text string) {
		if on {
			parts = append(parts, text)
		}
	}
	add(f.Duplicate > 0, "duplicate="+strconv.Itoa(f.Duplicate))
	add(f.Concurrent, "concurrent")
	add(f.Delay > 0, "delay="+f.Delay.String())
	add(f.DropFirst > 0, "drop_first="+strconv.Itoa(f.DropFirst))
	add(f.Reorder > 0, "reorder="+strconv.Itoa(f.Reorder))
	add(f.BadSignature, "bad_signature")
	add(f.TamperAmount, "tamper_amount")
	add(f.ForgedOtherApp, "forged_other_app")
	add(f.ForgedAmount, "forged_amount")
	return strings.Join(parts, " ")
}

// serveResendForm resends a notify and shows its trade again, once the
// delivery is recorded (or after resendWait).
func (s *Sandbox) serveResendForm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("notify_id")
	n, ok := s.Notification(id)
	if !ok {
		s.renderDashboard(w, http.StatusNotFound, "message", page{Title: "未找到 Not found", Error: notificationNotFound(id).message})
		return
	}
	if err := s.ResendNotify(id); err != nil {
		s.renderDashboard(w, http.StatusServiceUnavailable, "message", page{Title: "已停止 Stopped", Error: notifierStopped().message})
		return
	}
	done := "resent"
	ctx, cancel := context.WithTimeout(r.Context(), resendWait)
	defer cancel()
	if s.DeliverDue(ctx) != nil {
		done = "resend_late"
	}
	http.Redirect(w, r, "/sandbox/trades/"+url.PathEscape(n.AppID)+"/"+url.PathEscape(n.OutTradeNo)+"?done="+done+"#notify-attempts", http.StatusSeeOther)
}

// notifyFaultForm reads the notify fault form of r.
func notifyFaultForm(r *http.Request) (apiNotifyFault, *apiError) {
	f := r.PostForm
	req := apiNotifyFault{
		AppID: f.Get("app_id"), OutTradeNo: strings.TrimSpace(f.Get("out_trade_no")), Delay: strings.TrimSpace(f.Get("delay")),
		Concurrent: f.Get("concurrent") != "", BadSignature: f.Get("bad_signature") != "", TamperAmount: f.Get("tamper_amount") != "",
		ForgedOtherApp: f.Get("forged_other_app") != "", ForgedAmount: f.Get("forged_amount") != "",
	}
	for _, field := range []struct {
		name string
		dst  *int
	}{{"duplicate", &req.Duplicate}, {"drop_first", &req.DropFirst}, {"reorder", &req.Reorder}} {
		text := strings.TrimSpace(f.Get(field.name))
		if text == "" {
			continue
		}
		n, err := strconv.Atoi(text)
		if err != nil {
			return req, newAPIError(http.StatusBadRequest, "invalid_field", "%s %q is not a whole number", field.name, text)
		}
		*field.dst = n
	}
	return req, nil
}

func (s *Sandbox) serveAddNotifyFault(w http.ResponseWriter, r *http.Request) {
	req, aerr := notifyFaultForm(r)
	if aerr == nil {
		_, _, aerr = s.setNotifyFault(req)
	}
	if aerr != nil {
		v := s.faultsView(faultRequest{})
		v.NotifyForm = req
		p := newPage(r, "故障 Faults", v)
		p.Error = "未添加 Not added: " + aerr.message
		s.renderDashboard(w, aerr.status, "faults", p)
		return
	}
	http.Redirect(w, r, "/sandbox/faults?done=fault_added#notify-faults", http.StatusSeeOther)
}

func (s *Sandbox) serveDeleteNotifyFault(w http.ResponseWriter, r *http.Request) {
	if aerr := s.clearNotifyFault(url.Values{"app_id": {r.PostForm.Get("app_id")}, "out_trade_no": {r.PostForm.Get("out_trade_no")}}); aerr != nil {
		p := newPage(r, "故障 Faults", s.faultsView(faultRequest{}))
		p.Error = aerr.message
		s.renderDashboard(w, aerr.status, "faults", p)
		return
	}
	http.Redirect(w, r, "/sandbox/faults?done=fault_removed#notify-faults", http.StatusSeeOther)
}
