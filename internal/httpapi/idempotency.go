package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"zhifu/payment"
)

// staleAfter is how long after its claim an idempotency key still in
// progress is taken to be abandoned (its instance died mid-request) and
// may be claimed again: well beyond the longest a request can run, its
// body's ReadTimeout and its Timeout, so that a request still running is
// never run twice.
func (a *api) staleAfter() time.Duration {
	return 2*(a.cfg.ReadTimeout+a.cfg.Timeout) + time.Minute
}

// idempotent runs h for a POST under its Idempotency-Key: the first
// request with a key runs and its answer is kept (for payment.IdempotencyTTL);
// a retry with the same key and body gets that answer again; the same key
// with another request is 422 idempotency_key_reused, and while the first
// is still running 409 idempotency_in_progress. Answers 400 (the request
// was refused before anything was done) and 409 conflict (the payment
// changed meanwhile; nothing was done, and the answer says to send the
// request again) are not kept, so that a corrected request or the retry
// can use the same key.
func (a *api) idempotent(w http.ResponseWriter, r *http.Request, c *apiCall, h apiHandler) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		apiWriteError(w, apiErrorf(http.StatusBadRequest, CodeIdempotencyRequired, "", "every POST needs an Idempotency-Key header (a UUID, say), the same for each retry of the request"))
		return
	}
	if err := payment.CheckIdempotencyKey(key); err != nil {
		apiWriteError(w, apiErrorf(http.StatusBadRequest, CodeInvalidIdempotencyKey, "", "Idempotency-Key: 1 to %d printable ASCII characters without spaces", payment.MaxIdempotencyKeyLen))
		return
	}
	now := a.cfg.Now()
	rec := &payment.IdempotencyRecord{
		APIKeyID: c.key.ID, Key: key, CreatedAt: now,
		RequestHash: payment.HashIdempotentRequest(r.Method, r.URL.Path, c.body),
	}
	prev, err := a.cfg.Idempotency.ClaimIdempotencyKey(r.Context(), payment.IdempotencyClaim{
		Record: rec, ExpiredBefore: now.Add(-payment.IdempotencyTTL), StaleBefore: now.Add(-a.staleAfter()),
	})
	switch {
	case err != nil:
		c.log.Error("httpapi: claiming the idempotency key failed", "error", err)
		apiWriteError(w, apiErrorf(http.StatusServiceUnavailable, CodeNotReady, "", "the payment service cannot record the request now; send it again later with the same Idempotency-Key"))
		return
	case prev != nil && !bytes.Equal(prev.RequestHash, rec.RequestHash):
		apiWriteError(w, apiErrorf(http.StatusUnprocessableEntity, CodeIdempotencyKeyReused, "", "this Idempotency-Key was used for another request (another path or body) in the last 24 h; use a new key for a new request"))
		return
	case prev != nil && !prev.Done():
		w.Header().Set("Retry-After", "1")
		apiWriteError(w, apiErrorf(http.StatusConflict, CodeIdempotencyInProgress, "", "a request with this Idempotency-Key is still being answered; retry shortly"))
		return
	case prev != nil:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(prev.Status)
		w.Write(prev.Body)
		return
	}
	rw := &apiRecorder{header: make(http.Header)}
	completed := false
	defer func() {
		if !completed {
			// A panic: nothing is kept, the key is free again.
			a.release(c, key)
		}
	}()
	h(rw, r, c)
	completed = true
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	if rw.status == http.StatusBadRequest || rw.code == CodeConflict {
		// Nothing was done (a bad request; a payment that changed
		// meanwhile, which the answer says to send again): the key is free
		// for the retry.
		a.release(c, key)
	} else if err := a.cfg.Idempotency.CompleteIdempotencyKey(context.WithoutCancel(r.Context()), c.key.ID, key, rw.status, rw.body.Bytes()); err != nil {
		// The answer is still given; a retry within staleAfter is told
		// the request is in progress, and after that it runs again.
		c.log.Error("httpapi: keeping the answer under its idempotency key failed", "error", err)
	}
	for k, v := range rw.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rw.status)
	w.Write(rw.body.Bytes())
}

// release frees an idempotency key whose request kept nothing.
func (a *api) release(c *apiCall, key string) {
	if err := a.cfg.Idempotency.ReleaseIdempotencyKey(context.Background(), c.key.ID, key); err != nil && !errors.Is(err, payment.ErrNotFound) {
		c.log.Error("httpapi: releasing an idempotency key failed", "error", err)
	}
}

// apiRecorder keeps a handler's answer, to be stored before it is sent.
type apiRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	code   ErrorCode // the error's code, when the answer is an error
}

// Header implements http.ResponseWriter.
func (rw *apiRecorder) Header() http.Header { return rw.header }

// WriteHeader implements http.ResponseWriter.
func (rw *apiRecorder) WriteHeader(status int) {
	if rw.status == 0 {
		rw.status = status
	}
}

// Write implements http.ResponseWriter.
func (rw *apiRecorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	return rw.body.Write(b)
}
