package payment

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadBodySizeHint: the size hint of readBody only sizes the buffer: a
// body longer or shorter than announced, or of unknown length, is read
// whole, and the MaxNotifyBytes limit still holds.
func TestReadBodySizeHint(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("notify_id=abc&", 100)
	for _, size := range []int64{-1, 0, 10, int64(len(body)) - 1, int64(len(body)), int64(len(body)) + 1, MaxNotifyBytes, MaxNotifyBytes + 1} {
		got, err := readBody(strings.NewReader(body), size)
		if err != nil || string(got) != body {
			t.Errorf("size %d: %d bytes, %v; want the %d bytes", size, len(got), err, len(body))
		}
	}
	big := strings.Repeat("x", MaxNotifyBytes+1)
	for _, size := range []int64{-1, 100, MaxNotifyBytes, MaxNotifyBytes + 1} {
		r := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(big)), MaxNotifyBytes)
		_, err := readBody(r, size)
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			t.Errorf("size %d: %v, want a MaxBytesError", size, err)
		}
	}
}
