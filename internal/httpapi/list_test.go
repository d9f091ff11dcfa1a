package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestListPaging creates payments, pays some, and lists them: filtered by
// status and time, page by page with the cursor, every one exactly once,
// newest first.
func TestListPaging(t *testing.T) {
	onStores(t, func(t *testing.T, e *env) {
		before := time.Now().UTC().Add(-time.Second)
		var ids []string
		for range 7 {
			ids = append(ids, e.create(`{"subject":"s","amount":"1.00","channel":"precreate"}`).str("id"))
		}
		paid := e.do(req{method: "GET", path: "/v1/payments/" + ids[2]})
		e.pay(paid.str("out_trade_no"))

		seen := map[string]bool{}
		var order []string
		cursor := ""
		pages := 0
		for {
			q := url.Values{"limit": {"3"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			a := e.do(req{method: "GET", path: "/v1/payments?" + q.Encode()})
			e.want(a, http.StatusOK, "")
			pages++
			for _, x := range a.json["data"].([]any) {
				id := x.(map[string]any)["id"].(string)
				if seen[id] {
					t.Fatalf("%s listed twice", id)
				}
				seen[id] = true
				order = append(order, id)
			}
			next, _ := a.json["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != 7 || pages != 3 {
			t.Fatalf("listed %d payments on %d pages, want 7 on 3", len(seen), pages)
		}
		for i, id := range order {
			if id != ids[len(ids)-1-i] {
				t.Fatalf("listing order %v, want newest first of %v", order, ids)
			}
		}

		a := e.do(req{method: "GET", path: "/v1/payments?status=paid"})
		data := a.json["data"].([]any)
		if len(data) != 1 || data[0].(map[string]any)["id"] != ids[2] {
			t.Fatalf("status=paid: %s", a.raw)
		}
		a = e.do(req{method: "GET", path: "/v1/payments?status=paid,pending&limit=100"})
		if n := len(a.json["data"].([]any)); n != 7 {
			t.Fatalf("status=paid,pending: %d payments", n)
		}
		q := url.Values{"created_from": {before.Format(time.RFC3339)}, "created_to": {time.Now().UTC().Add(time.Hour).Format(time.RFC3339)}}
		if n := len(e.do(req{method: "GET", path: "/v1/payments?" + q.Encode()}).json["data"].([]any)); n != 7 {
			t.Fatalf("created in range: %d payments, want 7", n)
		}
		q = url.Values{"created_to": {before.Format(time.RFC3339)}}
		if n := len(e.do(req{method: "GET", path: "/v1/payments?" + q.Encode()}).json["data"].([]any)); n != 0 {
			t.Fatalf("created before the test: %d payments, want 0", n)
		}
	})
}
