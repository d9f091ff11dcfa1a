package payment_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"zhifu/payment"
)

// observed records what an Observer is told.
type observed struct {
	mu       sync.Mutex
	created  []string
	notifies []payment.NotifyResult
}

func (o *observed) PaymentCreated(_ context.Context, ord *payment.Order) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.created = append(o.created, ord.ID)
}

func (o *observed) NotifyHandled(_ context.Context, r payment.NotifyResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.notifies = append(o.notifies, r)
}

// last returns the last notify result, or "".
func (o *observed) last() payment.NotifyResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.notifies) == 0 {
		return ""
	}
	return o.notifies[len(o.notifies)-1]
}

// TestObserver: Config.Observer is told of each created payment and of
// what became of each notify: applied, duplicate, rejected_signature,
// bad_request, quarantined.
func TestObserver(t *testing.T) {
	t.Parallel()
	obs := &observed{}
	var svc *payment.Service
	// The env's notify URL leads to svc, a Service like the env's with
	// the Observer set.
	e := newEnv(t, openSQLite, options{notify: func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { svc.NotifyHandler().ServeHTTP(w, r) })
	}})
	cfg := e.cfg
	cfg.Observer = obs
	var err error
	if svc, err = payment.New(cfg); err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreatePayment(e.ctx(), payment.CreatePaymentRequest{Subject: "s", Amount: 100, Channel: payment.ChannelPrecreate})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(obs.created, []string{p.Order.ID}) {
		t.Fatalf("created %v, want [%s]", obs.created, p.Order.ID)
	}
	e.pay(p)
	if got := obs.last(); got != payment.NotifyApplied {
		t.Fatalf("the payment's notify: %q, want applied", got)
	}
	var raw []byte
	for _, ev := range e.events(p.Order.ID) {
		if ev.Kind == payment.EventNotifyReceived {
			raw = ev.Raw
		}
	}
	if status, _ := e.postNotify(string(raw)); status != http.StatusOK {
		t.Fatalf("the notify again: %d", status)
	}
	if got := obs.last(); got != payment.NotifyDuplicate {
		t.Fatalf("the notify again: %q, want duplicate", got)
	}
	e.postNotify("out_trade_no=" + p.Order.OutTradeNo + "&trade_status=TRADE_SUCCESS&sign=AAAA&sign_type=RSA2")
	if got := obs.last(); got != payment.NotifyRejectedSignature {
		t.Fatalf("a forged notify: %q, want rejected_signature", got)
	}
	if status, _ := e.post("/notify", "text/plain", "x"); status != http.StatusUnsupportedMediaType {
		t.Fatalf("a text notify: %d", status)
	}
	if got := obs.last(); got != payment.NotifyBadRequest {
		t.Fatalf("a text notify: %q, want bad_request", got)
	}

	// Signed by Alipay, for another seller: quarantined.
	cfg.SellerID = "2088000000000009"
	if svc, err = payment.New(cfg); err != nil {
		t.Fatal(err)
	}
	q, err := svc.CreatePayment(e.ctx(), payment.CreatePaymentRequest{Subject: "s", Amount: 100, Channel: payment.ChannelPrecreate})
	if err != nil {
		t.Fatal(err)
	}
	e.pay(q)
	if got := obs.last(); got != payment.NotifyQuarantined {
		t.Fatalf("a notify of another seller: %q, want quarantined", got)
	}
}
