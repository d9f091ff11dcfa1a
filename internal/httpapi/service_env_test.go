package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"zhifu/payment"
)

// serviceEnv is what the API's env and the admin pages' adminEnv share:
// an httptest server, and on it the notify handler of a payment Service,
// optionally sending webhooks. Each env adds its own handler to mux.
type serviceEnv struct {
	srv *httptest.Server
	mux *http.ServeMux
	// cfg is the Service's Config, as payment.New was given it.
	cfg   payment.Config
	svc   *payment.Service
	hooks *hookRig // with webhooks
}

// serviceWebhooks says whether a serviceEnv's Service sends webhooks.
type serviceWebhooks struct {
	// rcv, when set, has the Service record the webhooks of its changes
	// and deliver them to rcv with its jobs.
	rcv *hookReceiver
	// queued leaves the jobs stopped: an event is recorded and its first
	// delivery stays queued.
	queued bool
}

// newServiceEnv starts the server and the Service of cfg on it: cfg holds
// the Store, the Alipay client, the Logger and whatever else the env
// wants; its NotifyURL and ReturnURL are set to the server's.
func newServiceEnv(t testing.TB, cfg payment.Config, webhooks serviceWebhooks) *serviceEnv {
	t.Helper()
	s := &serviceEnv{mux: http.NewServeMux()}
	s.srv = httptest.NewServer(s.mux)
	t.Cleanup(s.srv.Close)
	cfg.NotifyURL, cfg.ReturnURL = s.srv.URL+"/alipay/notify", s.srv.URL+"/alipay/return"
	if webhooks.rcv != nil {
		s.hooks = newHookRig(t, cfg.Store, webhooks.rcv, cfg.Logger)
		s.hooks.wire(t, cfg.Store, &cfg)
	}
	svc, err := payment.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg, s.svc = cfg, svc
	if s.hooks != nil && !webhooks.queued {
		s.hooks.start(t, svc)
	}
	s.mux.Handle("/alipay/notify", svc.NotifyHandler())
	return s
}
