package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zhifu/payment"
	"zhifu/payment/sqlitestore"
)

// TestIdempotencyKeepsOnlyAnswersOfWork runs handlers that answer with an
// error under an Idempotency-Key, and checks which answers are kept: a
// 409 conflict (nothing done; the answer says to send the request again)
// frees the key for the retry, while a 409 that is the request's outcome
// (not refundable) is kept and replayed.
func TestIdempotencyKeepsOnlyAnswersOfWork(t *testing.T) {
	store, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "zhifu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	a := &api{cfg: Config{Idempotency: store, Now: time.Now, Timeout: time.Second, ReadTimeout: time.Second}}
	c := &apiCall{key: &payment.APIKey{ID: "keyid"}, body: []byte(`{}`), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, tc := range []struct {
		name string
		err  *Error
		kept bool
	}{
		{"conflict", apiErrorf(http.StatusConflict, CodeConflict, "", "the payment changed meanwhile; send the request again"), false},
		{"not refundable", apiErrorf(http.StatusConflict, CodeNotRefundable, "", "not refundable"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := 0
			send := func() *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodPost, "/v1/payments/p1/refunds", strings.NewReader(`{}`))
				r.Header.Set("Idempotency-Key", "key-"+strings.ReplaceAll(tc.name, " ", "-"))
				w := httptest.NewRecorder()
				a.idempotent(w, r, c, func(w http.ResponseWriter, _ *http.Request, _ *apiCall) {
					runs++
					apiWriteError(w, tc.err)
				})
				return w
			}
			first, second := send(), send()
			if first.Code != http.StatusConflict || second.Code != http.StatusConflict {
				t.Fatalf("answers %d and %d, want 409 twice", first.Code, second.Code)
			}
			replayed := second.Header().Get("Idempotent-Replayed") == "true"
			if wantRuns := map[bool]int{true: 1, false: 2}[tc.kept]; runs != wantRuns || replayed != tc.kept {
				t.Fatalf("the handler ran %d times, the retry replayed: %v; want %d runs, replayed %v", runs, replayed, wantRuns, tc.kept)
			}
		})
	}
}
