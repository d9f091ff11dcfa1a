package httpapi

import (
	"context"
	"net/http"
	"time"

	"zhifu/payment"
)

// apiReadyTimeout bounds the store's check of /readyz.
const apiReadyTimeout = 3 * time.Second

// healthz answers GET /healthz: 200 while the process serves requests.
// It checks nothing else, so that a liveness probe restarts only a stuck
// process, never one whose database is away.
func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	apiWriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers GET /readyz: 200 when the store answers and has every
// migration applied, 503 not_ready otherwise (the reason is logged, not
// shown: it may name the database).
func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), apiReadyTimeout)
	defer cancel()
	var err error
	if p, ok := a.cfg.Store.(payment.Pinger); ok {
		err = p.Ping(ctx)
	} else {
		_, err = a.cfg.Store.ListOrders(ctx, payment.OrderFilter{Limit: 1})
	}
	if err != nil {
		a.log.Warn("httpapi: not ready", "error", err)
		apiWriteError(w, apiErrorf(http.StatusServiceUnavailable, CodeNotReady, "", "the store is not reachable or not migrated"))
		return
	}
	apiWriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
