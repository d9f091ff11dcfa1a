package sandbox

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"zhifu/alipay"
)

// What version 2 of the state file added to version 1: the notifies not
// yet acknowledged, with what their retry schedule needs to go on; the
// active API and notify faults; and the advance of the sandbox clock, so
// that the times saved mean the same after a restart.

// stateNotification is a notify still to deliver: pending (a delivery
// scheduled, due, or under way when the sandbox stopped) or held by a
// Reorder fault. Notifies acknowledged or given up are not saved.
type stateNotification struct {
	NotifyID    string              `json:"notify_id"`
	AppID       string              `json:"app_id"`
	OutTradeNo  string              `json:"out_trade_no"`
	TradeNo     string              `json:"trade_no"`
	EventSeq    uint64              `json:"event_seq"`
	Kind        EventKind           `json:"kind"`
	TradeStatus alipay.TradeStatus  `json:"trade_status"`
	NotifyURL   string              `json:"notify_url"`
	CreatedAt   time.Time           `json:"created_at"`
	State       NotifyState         `json:"state"`
	Params      map[string][]string `json:"params"`
	// Attempts counts the deliveries made; Retries the scheduled ones,
	// which say where in the retry schedule the notify is.
	Attempts int `json:"attempts"`
	Retries  int `json:"retries"`
	// NextAttemptAt is when the next scheduled delivery is due, on the
	// sandbox clock; zero when it was due or under way at the save: it
	// is then made at once on restart.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// Due is when the next delivery was scheduled for before a Delay
	// fault held it (the retry schedule counts from it); Delay is how
	// long the fault held it.
	Due   time.Time `json:"due,omitzero"`
	Delay string    `json:"delay,omitempty"`
}

// stateFault is an active API fault.
type stateFault struct {
	ID         string    `json:"id"`
	AppID      string    `json:"app_id"`
	OutTradeNo string    `json:"out_trade_no,omitempty"`
	Method     string    `json:"method,omitempty"`
	Kind       FaultKind `json:"kind"`
	Count      int       `json:"count,omitempty"`
	Remaining  int       `json:"remaining,omitempty"`
	Delay      string    `json:"delay,omitempty"`
	Code       string    `json:"code,omitempty"`
	Created    time.Time `json:"created"`
}

// snapshotNotify adds the version 2 parts of the state to st.
func (s *Sandbox) snapshotNotify(st *stateFile) error {
	if adv := time.Duration(s.clock.offset.Load()); adv > 0 {
		st.ClockAdvance = adv.String()
	}

	fs := &s.faults
	fs.mu.Lock()
	st.FaultSeq = fs.seq
	for _, f := range fs.active {
		sf := stateFault{
			ID: f.ID, AppID: f.AppID, OutTradeNo: f.OutTradeNo, Method: f.Method, Kind: f.Kind,
			Count: f.Count, Remaining: f.Remaining, Code: f.Code, Created: f.Created,
		}
		if f.Delay != 0 {
			sf.Delay = f.Delay.String()
		}
		st.Faults = append(st.Faults, sf)
	}
	fs.mu.Unlock()

	n := s.notifier
	n.mu.Lock()
	defer n.mu.Unlock()
	for sc, f := range n.faults {
		st.NotifyFaults = append(st.NotifyFaults, toAPINotifyFault(sc, f))
	}
	slices.SortFunc(st.NotifyFaults, func(a, b apiNotifyFault) int {
		return cmp.Or(cmp.Compare(a.AppID, b.AppID), cmp.Compare(a.OutTradeNo, b.OutTradeNo))
	})
	// In the order they were made: held notifies keep their order.
	for _, nt := range n.all {
		if nt.State != NotifyPending && nt.State != NotifyHeld {
			continue
		}
		sn := stateNotification{
			NotifyID: nt.NotifyID, AppID: nt.AppID, OutTradeNo: nt.OutTradeNo, TradeNo: nt.TradeNo,
			EventSeq: nt.EventSeq, Kind: nt.Kind, TradeStatus: nt.TradeStatus, NotifyURL: nt.NotifyURL,
			CreatedAt: nt.CreatedAt, State: nt.State, Params: cloneValues(nt.Params),
			Attempts: nt.Attempts, Retries: nt.retry, NextAttemptAt: nt.NextAttemptAt,
		}
		if j := nt.next; j != nil && j.delayed {
			sn.Due, sn.Delay = j.due, j.delay.String()
		}
		st.Notifications = append(st.Notifications, sn)
	}
	return nil
}

// loadNotify restores the version 2 parts of st: it runs in New, after the
// apps and trades are loaded and before the notifier starts.
func (s *Sandbox) loadNotify(st *stateFile) error {
	if st.Version == stateVersionV1 {
		if st.ClockAdvance != "" || st.FaultSeq != 0 || st.Faults != nil || st.NotifyFaults != nil || st.Notifications != nil {
			return errors.New("a version 1 file with the fields of version 2")
		}
		return nil // the migration: nothing pending, no faults, no advance
	}
	if st.ClockAdvance != "" {
		d, err := time.ParseDuration(st.ClockAdvance)
		if err != nil || d < 0 {
			return fmt.Errorf("clock_advance %q: not a positive duration", st.ClockAdvance)
		}
		s.clock.offset.Store(int64(d))
	}

	fs := &s.faults
	fs.seq = st.FaultSeq
	for _, sf := range st.Faults {
		f := Fault{
			ID: sf.ID, AppID: sf.AppID, OutTradeNo: sf.OutTradeNo, Method: sf.Method, Kind: sf.Kind,
			Count: sf.Count, Remaining: sf.Remaining, Code: sf.Code, Created: sf.Created,
		}
		if sf.Delay != "" {
			d, err := time.ParseDuration(sf.Delay)
			if err != nil {
				return fmt.Errorf("fault %s: delay %q: %w", sf.ID, sf.Delay, err)
			}
			f.Delay = d
		}
		if s.apps.apps[f.AppID] == nil {
			return fmt.Errorf("fault %s: no app %q", sf.ID, f.AppID)
		}
		if err := s.checkFault(&f); err != nil {
			return fmt.Errorf("fault %s: %w", sf.ID, err)
		}
		if f.ID == "" || f.Remaining < 0 || f.Remaining > f.Count || slices.ContainsFunc(fs.active, func(g *Fault) bool { return g.ID == f.ID }) {
			return fmt.Errorf("fault %q: empty or repeated id, or remaining %d not within 0 to count %d", f.ID, f.Remaining, f.Count)
		}
		fs.active = append(fs.active, &f)
	}

	n := s.notifier
	for _, sf := range st.NotifyFaults {
		f, aerr := sf.notifyFault()
		if aerr != nil {
			return fmt.Errorf("notify fault of %s %s: %s", sf.AppID, sf.OutTradeNo, aerr.message)
		}
		if err := f.check(); err != nil || f.IsZero() || s.apps.apps[sf.AppID] == nil {
			return fmt.Errorf("notify fault of app %q trade %q: no fault, no such app, or %v", sf.AppID, sf.OutTradeNo, err)
		}
		n.faults[NotifyScope{AppID: sf.AppID, OutTradeNo: sf.OutTradeNo}] = f
	}

	now := s.clock.now()
	for _, sn := range st.Notifications {
		if sn.NotifyID == "" || n.byID[sn.NotifyID] != nil || s.apps.apps[sn.AppID] == nil || sn.OutTradeNo == "" {
			return fmt.Errorf("notification %q: empty or repeated notify_id, or no app %q or out_trade_no", sn.NotifyID, sn.AppID)
		}
		if sn.State != NotifyPending && sn.State != NotifyHeld {
			return fmt.Errorf("notification %s: state %q is neither pending nor held", sn.NotifyID, sn.State)
		}
		if sn.Attempts < 0 || sn.Retries < 0 || sn.Retries > len(s.cfg.NotifySchedule)+1 {
			return fmt.Errorf("notification %s: attempts %d or retries %d out of range", sn.NotifyID, sn.Attempts, sn.Retries)
		}
		var delay time.Duration
		if sn.Delay != "" {
			d, err := time.ParseDuration(sn.Delay)
			if err != nil || d < 0 {
				return fmt.Errorf("notification %s: delay %q: not a duration", sn.NotifyID, sn.Delay)
			}
			delay = d
		}
		nt := &notification{
			Notification: Notification{
				NotifyID: sn.NotifyID, AppID: sn.AppID, OutTradeNo: sn.OutTradeNo, TradeNo: sn.TradeNo,
				EventSeq: sn.EventSeq, Kind: sn.Kind, TradeStatus: sn.TradeStatus, NotifyURL: sn.NotifyURL,
				CreatedAt: sn.CreatedAt, State: sn.State, Attempts: sn.Attempts, Params: url.Values(sn.Params),
			},
			key:   tradeKey{sn.AppID, sn.OutTradeNo},
			retry: sn.Retries,
		}
		if nt.Params == nil {
			nt.Params = url.Values{}
		}
		n.all = append(n.all, nt)
		n.byID[nt.NotifyID] = nt
		if nt.State == NotifyHeld {
			n.held[nt.key] = append(n.held[nt.key], nt)
			continue
		}
		// Resume the schedule: the next delivery at its time, or now if
		// it was due (or under way) when the sandbox stopped.
		at := sn.NextAttemptAt
		if at.IsZero() {
			at = now
		}
		j := &job{n: nt, due: at} // the schedule counts from when it was due
		if at.Before(now) {
			at = now
		}
		if !sn.Due.IsZero() {
			j.due, j.delayed, j.delay = sn.Due, true, delay
		}
		n.mu.Lock()
		n.scheduleLocked(j, at)
		n.mu.Unlock()
	}
	return nil
}
