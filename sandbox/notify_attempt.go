package sandbox

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"zhifu/alipay"
)

// maxRecordedBody is how much of the merchant's answer an attempt keeps.
const maxRecordedBody = 1 << 10

// ackBody is the only answer that acknowledges a notify: HTTP 200 with
// exactly these 7 bytes, nothing trimmed (§5.5).
const ackBody = "success"

// newNotifyID returns a notify_id shaped like Alipay's: the Beijing date,
// "01222" and 21 digits, 34 characters, as in
// "2024052001222123531046880512345678".
func newNotifyID(now time.Time) (string, error) {
	a, err := randomDigits(11)
	if err != nil {
		return "", err
	}
	b, err := randomDigits(10)
	if err != nil {
		return "", err
	}
	return now.In(beijing).Format("20060102") + "01222" + a + b, nil
}

// delivery is what a worker sends for a job, decided under the lock.
type delivery struct {
	attempt  NotifyAttempt // the fields common to its copies
	params   url.Values    // without notify_time, sign_type and sign
	signType alipay.SignType
	otherApp string
}

// work is a worker: it takes a ready lane, makes the first delivery of
// it, and puts the lane back if more are queued.
func (n *notifier) work() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		for len(n.ready) == 0 && !n.closed {
			n.cond.Wait()
		}
		if n.closed {
			return
		}
		l := n.ready[0]
		n.ready[0] = nil
		n.ready = n.ready[1:]
		j := l.jobs[0]
		l.jobs[0] = nil
		l.jobs = l.jobs[1:]
		d, ok := n.planLocked(j)
		var sent []NotifyAttempt
		if ok {
			n.mu.Unlock()
			sent = n.deliver(d)
			n.mu.Lock()
			n.finishLocked(j, sent)
		}
		if len(l.jobs) > 0 {
			n.ready = append(n.ready, l)
			n.cond.Signal()
		} else {
			l.busy = false
			delete(n.lanes, l.key)
		}
		if n.pending--; n.pending == 0 {
			close(n.idle)
			n.idle = nil
		}
	}
}

// planLocked decides the delivery of j; ok is false when there is none to
// make (a scheduled delivery of a notify acknowledged meanwhile).
func (n *notifier) planLocked(j *job) (d delivery, ok bool) {
	nt := j.n
	if !j.manual && nt.State != NotifyPending {
		return d, false
	}
	nt.Attempts++
	if !j.manual {
		nt.NextAttemptAt = time.Time{}
		nt.next = nil
	}
	signType := alipay.SignTypeRSA2
	if app := n.apps.get(nt.AppID); app != nil {
		signType = app.SignType
	}
	d = delivery{
		attempt: NotifyAttempt{
			NotifyID: nt.NotifyID, AppID: nt.AppID, OutTradeNo: nt.OutTradeNo,
			Attempt: nt.Attempts, Manual: j.manual, URL: nt.NotifyURL,
			Fault: n.faultLocked(nt.key), Delay: j.delay,
		},
		params:   cloneValues(nt.Params),
		signType: signType,
		otherApp: n.apps.other(nt.AppID),
	}
	return d, true
}

// deliver makes delivery d: drops it, or sends it (and its copies) to the
// merchant, and returns what happened to each copy.
func (n *notifier) deliver(d delivery) []NotifyAttempt {
	a := d.attempt
	f := a.Fault
	a.Time = n.clock.now()
	if a.Attempt <= f.DropFirst {
		a.Dropped = true
		a.Error = "dropped by the DropFirst fault: nothing was sent"
		return []NotifyAttempt{a}
	}
	p := d.params
	p.Set("notify_time", alipay.FormatTime(a.Time))
	forge(p, f, d.otherApp)
	p.Set("sign_type", string(d.signType))
	sign, err := alipay.SignNotify(n.cfg.AlipayPrivateKey, d.signType, p)
	if err != nil {
		a.Error = "signing: " + err.Error()
		return []NotifyAttempt{a}
	}
	p.Set("sign", sign)
	tamper(p, f)
	a.Form = p.Encode()

	sent := make([]NotifyAttempt, 1+f.Duplicate)
	for i := range sent {
		sent[i] = a
		sent[i].Copy = i
	}
	if !f.Concurrent {
		for i := range sent {
			n.post(&sent[i])
		}
		return sent
	}
	// The copies wait for one signal, so that they leave together.
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range sent {
		wg.Go(func() {
			<-start
			n.post(&sent[i])
		})
	}
	close(start)
	wg.Wait()
	return sent
}

// post sends a's form to its URL and records the answer in a.
func (n *notifier) post(a *NotifyAttempt) {
	// The per-attempt timeout is UNCONFIRMED at Alipay; see
	// DefaultNotifyTimeout.
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, strings.NewReader(a.Form))
	if err != nil {
		a.Error = err.Error()
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "zhifu-sandbox-notify/1.0")
	start := time.Now() // latency is real time, whatever the sandbox clock does
	resp, err := n.cfg.HTTPClient.Do(req)
	if err != nil {
		a.Latency = time.Since(start)
		a.Error = err.Error()
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRecordedBody+1))
	a.Latency = time.Since(start)
	a.StatusCode = resp.StatusCode
	if len(b) > maxRecordedBody {
		b, a.BodyTruncated = b[:maxRecordedBody], true
	}
	a.Body = string(b)
	if err != nil {
		a.Error = "reading the answer: " + err.Error()
		return
	}
	a.Acknowledged = resp.StatusCode == http.StatusOK && !a.BodyTruncated && a.Body == ackBody
}

// finishLocked records the deliveries of j and decides what comes next:
// nothing after an acknowledgement, else the next delivery of the retry
// schedule, or giving up when it has run out.
func (n *notifier) finishLocked(j *job, sent []NotifyAttempt) {
	nt := j.n
	n.attempts[nt.key] = append(n.attempts[nt.key], sent...)
	n.changedLocked()
	for _, a := range sent {
		n.log.Debug("sandbox: notify", "notify_id", a.NotifyID, "attempt", a.Attempt, "copy", a.Copy,
			"status", a.StatusCode, "acknowledged", a.Acknowledged, "error", a.Error)
		if a.Acknowledged {
			nt.State = NotifyAcknowledged
			nt.NextAttemptAt, nt.next = time.Time{}, nil
			if nt.timer != nil {
				n.clock.stop(nt.timer)
				nt.timer = nil
			}
			return
		}
	}
	if j.manual || nt.State != NotifyPending || n.closed {
		return
	}
	nt.retry++
	if nt.retry > len(n.cfg.NotifySchedule) {
		nt.State = NotifyGaveUp
		return
	}
	next := j.due.Add(n.cfg.scaled(n.cfg.NotifySchedule[nt.retry-1]))
	n.scheduleLocked(&job{n: nt, due: next}, next)
}

// otherAppID is the app id of a ForgedOtherApp notify when the sandbox has
// a single app.
const otherAppID = "2021000000000999"

// other returns the id of an app other than appID: the least registered
// one if there is one, else otherAppID (or a variant of it).
func (r *appRegistry) other(appID string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	other := ""
	for id := range r.apps {
		if id != appID && (other == "" || id < other) {
			other = id
		}
	}
	switch {
	case other != "":
		return other
	case appID == otherAppID:
		return otherAppID[:len(otherAppID)-1] + "8"
	}
	return otherAppID
}
