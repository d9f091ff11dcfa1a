package payment

import (
	"encoding/json"
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

// TestWebhookEventShowsOnlyTheMerchantsMetadata: the service's own
// metadata keys (zhifu.return_url) stay out of a webhook's payload, as
// they stay out of the API's payment object.
func TestWebhookEventShowsOnlyTheMerchantsMetadata(t *testing.T) {
	o := &Order{ID: "ord_1", OutTradeNo: "T1", Subject: "s", Amount: 100, Channel: ChannelPage, Status: StatusPaid,
		Flags:    FlagPaidAfterClose,
		Metadata: map[string]string{"cart": "42", MetadataReserved + "return_url": "https://shop.example/thanks"}}
	e, err := newWebhookEvent(OrderEvent{Seq: 2, From: StatusPending, To: StatusPaid}, o)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Data struct {
			Metadata map[string]string `json:"metadata"`
			Flags    []string          `json:"flags"`
		} `json:"data"`
	}
	if err := json.Unmarshal(e.Payload, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Data.Metadata) != 1 || body.Data.Metadata["cart"] != "42" {
		t.Errorf("webhook metadata %v, want only the merchant's cart", body.Data.Metadata)
	}
	if len(body.Data.Flags) != 1 || body.Data.Flags[0] != "paid_after_close" {
		t.Errorf("webhook flags %v, want [paid_after_close]", body.Data.Flags)
	}
}
