package sandbox

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// failThenAck answers the first notify with HTTP 500 and a body of markup,
// and every later one with "success".
func failThenAck(i int, w http.ResponseWriter, _ *http.Request) {
	if i == 0 {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<script>alert(1)</script>")
		return
	}
	io.WriteString(w, "success")
}

// notifications lists the notifications of the control API for query.
func (e *notifyEnv) notifications(query string) []map[string]any {
	e.t.Helper()
	a := e.api("GET", "/sandbox/api/notifications"+query, "")
	if a.status != 200 {
		e.t.Fatalf("notifications%s: %d %s", query, a.status, a.body)
	}
	var out []map[string]any
	for _, n := range a.json["notifications"].([]any) {
		out = append(out, n.(map[string]any))
	}
	return out
}

// deliverAPI runs POST deliver-due and returns the attempts it made.
func (e *notifyEnv) deliverAPI() int {
	e.t.Helper()
	a := e.api("POST", "/sandbox/api/notifications/deliver-due", "")
	if a.status != 200 || !rfc3339Beijing.MatchString(a.json["now"].(string)) {
		e.t.Fatalf("deliver-due: %d %s", a.status, a.body)
	}
	return int(a.json["attempts_made"].(float64))
}

func TestControlAPINotifications(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, failThenAck)
	e.pay("CN_1", 1234)
	e.deliverAPI()

	ns := e.notifications("")
	if len(ns) != 1 {
		t.Fatalf("%d notifications", len(ns))
	}
	n := ns[0]
	id, _ := n["notify_id"].(string)
	params, _ := n["params"].(map[string]any)
	if len(id) != 34 || n["app_id"] != TestAppID || n["out_trade_no"] != "CN_1" || n["kind"] != "paid" ||
		n["trade_status"] != "TRADE_SUCCESS" || n["state"] != "pending" || n["attempt_count"] != 1.0 ||
		!rfc3339Beijing.MatchString(n["next_attempt_at"].(string)) || params["notify_id"] != id || params["total_amount"] != "12.34" {
		t.Fatalf("notification %v", n)
	}
	as, _ := n["attempts"].([]any)
	if len(as) != 1 {
		t.Fatalf("attempts %v", as)
	}
	a0 := as[0].(map[string]any)
	if a0["attempt"] != 1.0 || a0["status_code"] != 500.0 || a0["body"] != "<script>alert(1)</script>" || a0["acknowledged"] != false ||
		!rfc3339Beijing.MatchString(a0["time"].(string)) || a0["latency"] == nil || a0["fault"] != nil || !strings.Contains(a0["form"].(string), "sign=") {
		t.Fatalf("attempt %v", a0)
	}
	if _, err := time.ParseDuration(a0["latency"].(string)); err != nil {
		t.Errorf("latency %v: %v", a0["latency"], err)
	}
	if got := e.notifications("?out_trade_no=CN_1&app_id=" + TestAppID); len(got) != 1 || got[0]["notify_id"] != id {
		t.Errorf("by trade: %v", got)
	}
	wantErr(t, "unknown trade", e.api("GET", "/sandbox/api/notifications?out_trade_no=NOPE", ""), 404, "trade_not_found")
	wantErr(t, "unknown app", e.api("GET", "/sandbox/api/notifications?app_id=nope", ""), 404, "app_not_found")
	wantErr(t, "long out_trade_no", e.api("GET", "/sandbox/api/notifications?out_trade_no="+strings.Repeat("1", 65), ""), 400, "invalid_field")

	a := e.api("GET", "/sandbox/api/notifications/"+id, "")
	if got, _ := a.json["notification"].(map[string]any); a.status != 200 || got["notify_id"] != id || len(got["attempts"].([]any)) != 1 {
		t.Fatalf("one notification: %d %s", a.status, a.body)
	}
	wantErr(t, "unknown notification", e.api("GET", "/sandbox/api/notifications/123", ""), 404, "notification_not_found")

	// Bad resends change nothing.
	wantErr(t, "resend unknown", e.api("POST", "/sandbox/api/notifications/123/resend", ""), 404, "notification_not_found")
	wantErr(t, "resend with a field", e.api("POST", "/sandbox/api/notifications/"+id+"/resend", `{"now":true}`), 400, "unknown_field")
	wantErr(t, "resend bad JSON", e.api("POST", "/sandbox/api/notifications/"+id+"/resend", `{`), 400, "bad_json")
	wantErr(t, "GET resend", e.api("GET", "/sandbox/api/notifications/"+id+"/resend", ""), 405, "method_not_allowed")
	wantErr(t, "deliver-due with a field", e.api("POST", "/sandbox/api/notifications/deliver-due", `{"all":1}`), 400, "unknown_field")
	wantErr(t, "GET deliver-due", e.api("GET", "/sandbox/api/notifications/deliver-due", ""), 404, "notification_not_found")
	if n := e.deliverAPI(); n != 0 || len(e.attempts("CN_1")) != 1 {
		t.Fatalf("refused requests delivered: %d %v", n, e.attempts("CN_1"))
	}

	// A resend, made by deliver-due, acknowledged: the retries end.
	a = e.api("POST", "/sandbox/api/notifications/"+id+"/resend", "")
	if got, _ := a.json["notification"].(map[string]any); a.status != 202 || got["notify_id"] != id {
		t.Fatalf("resend: %d %s", a.status, a.body)
	}
	e.deliverAPI()
	n = e.notifications("?out_trade_no=CN_1")[0]
	as = n["attempts"].([]any)
	a1 := as[len(as)-1].(map[string]any)
	if n["state"] != "acknowledged" || n["next_attempt_at"] != nil || len(as) != 2 || a1["manual"] != true || a1["acknowledged"] != true || a1["body"] != "success" {
		t.Fatalf("after the resend: %v", n)
	}

	// deliver-due waits for what a payment made due (a worker may have
	// delivered it already: attempts_made may be 0).
	e.pay("CN_2", 100)
	e.deliverAPI()
	if got := e.notifications("?out_trade_no=CN_2"); len(got) != 1 || len(got[0]["attempts"].([]any)) != 1 || got[0]["state"] != "acknowledged" {
		t.Fatalf("CN_2: %v", got)
	}
	if got := e.notifications(""); len(got) != 2 {
		t.Fatalf("%d notifications", len(got))
	}
}

func TestControlAPINotifyStopped(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	e.pay("ST_1", 100)
	e.deliver()
	id := e.sb.Notifications(TestAppID)[0].NotifyID
	e.sb.Stop()
	wantErr(t, "resend", e.api("POST", "/sandbox/api/notifications/"+id+"/resend", ""), 503, "stopped")
	wantErr(t, "deliver-due", e.api("POST", "/sandbox/api/notifications/deliver-due", ""), 503, "stopped")
}

func TestControlAPINotifyFaults(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, ack)
	if a := e.api("GET", "/sandbox/api/notify-faults", ""); a.status != 200 || len(a.json["notify_faults"].([]any)) != 0 {
		t.Fatalf("empty list: %d %s", a.status, a.body)
	}
	a := e.api("POST", "/sandbox/api/notify-faults", `{"duplicate":2,"delay":"30s","bad_signature":true}`)
	f, _ := a.json["notify_fault"].(map[string]any)
	if a.status != 200 || f["app_id"] != TestAppID || f["out_trade_no"] != nil || f["duplicate"] != 2.0 || f["delay"] != "30s" || f["bad_signature"] != true {
		t.Fatalf("app fault: %d %s", a.status, a.body)
	}
	a = e.api("POST", "/sandbox/api/notify-faults", `{"app_id":"`+TestAppID+`","out_trade_no":"NF_1","drop_first":1}`)
	if f, _ := a.json["notify_fault"].(map[string]any); a.status != 200 || f["out_trade_no"] != "NF_1" || f["drop_first"] != 1.0 {
		t.Fatalf("trade fault: %d %s", a.status, a.body)
	}
	a = e.api("GET", "/sandbox/api/notify-faults", "")
	list, _ := a.json["notify_faults"].([]any)
	if len(list) != 2 || list[1].(map[string]any)["out_trade_no"] != "NF_1" {
		t.Fatalf("list: %s", a.body)
	}
	before := e.sb.NotifyFaults()

	// Refusals change nothing.
	for _, tc := range []struct {
		body, code, field string
		status            int
	}{
		{`{}`, "missing_field", "duplicate", 400},
		{`{"out_trade_no":"NF_1"}`, "missing_field", "duplicate", 400},
		{`{"duplicate":-1}`, "invalid_field", "duplicate", 400},
		{`{"duplicate":101}`, "invalid_field", "duplicate", 400},
		{`{"duplicate":"2"}`, "invalid_field", "duplicate", 400},
		{`{"concurrent":true}`, "invalid_field", "concurrent", 400},
		{`{"reorder":1}`, "invalid_field", "reorder", 400},
		{`{"drop_first":-1}`, "invalid_field", "drop_first", 400},
		{`{"delay":"soon"}`, "invalid_field", "delay", 400},
		{`{"delay":"-1s"}`, "invalid_field", "delay", 400},
		{`{"delay":"100h"}`, "invalid_field", "delay", 400},
		{`{"delay":30}`, "invalid_field", "delay", 400},
		{`{"out_trade_no":"` + strings.Repeat("1", 65) + `","duplicate":1}`, "invalid_field", "out_trade_no", 400},
		{`{"app_id":"nope","duplicate":1}`, "app_not_found", "nope", 404},
		{`{"dup":1}`, "unknown_field", "dup", 400},
		{`[]`, "bad_json", "object", 400},
	} {
		a := e.api("POST", "/sandbox/api/notify-faults", tc.body)
		wantErr(t, tc.body, a, tc.status, tc.code)
		if !strings.Contains(a.errMessage(), tc.field) {
			t.Errorf("%s: the message does not name %s: %s", tc.body, tc.field, a.errMessage())
		}
	}
	wantErr(t, "DELETE unknown trade", e.api("DELETE", "/sandbox/api/notify-faults?out_trade_no=NOPE", ""), 404, "notify_fault_not_found")
	wantErr(t, "DELETE unknown app", e.api("DELETE", "/sandbox/api/notify-faults?app_id=nope", ""), 404, "app_not_found")
	wantErr(t, "PUT", e.api("PUT", "/sandbox/api/notify-faults", "{}"), 405, "method_not_allowed")
	if got := e.sb.NotifyFaults(); !reflect.DeepEqual(got, before) {
		t.Fatalf("refused requests changed the faults: %+v, was %+v", got, before)
	}

	// The trade's fault acts, and the attempt shows it.
	e.pay("NF_1", 100)
	e.deliverAPI()
	as := e.notifications("?out_trade_no=NF_1")[0]["attempts"].([]any)
	a0 := as[0].(map[string]any)
	if fa, _ := a0["fault"].(map[string]any); a0["dropped"] != true || fa["drop_first"] != 1.0 || fa["duplicate"] != nil || !strings.Contains(a0["error"].(string), "dropped") {
		t.Fatalf("attempt %v", a0)
	}

	if a := e.api("DELETE", "/sandbox/api/notify-faults?out_trade_no=NF_1", ""); a.status != 200 || a.json["cleared"] != 1.0 || len(e.sb.NotifyFaults()) != 1 {
		t.Fatalf("delete the trade's: %d %s", a.status, a.body)
	}
	e.api("POST", "/sandbox/api/notify-faults", `{"out_trade_no":"NF_2","reorder":2}`)
	if a := e.api("DELETE", "/sandbox/api/notify-faults?app_id="+TestAppID, ""); a.status != 200 || len(e.sb.NotifyFaults()) != 1 {
		t.Fatalf("delete the app's: %d %s", a.status, a.body)
	}
	if a := e.api("DELETE", "/sandbox/api/notify-faults", ""); a.status != 200 || a.json["cleared"] != 1.0 || len(e.sb.NotifyFaults()) != 0 {
		t.Fatalf("delete all: %d %s", a.status, a.body)
	}
}

// The notify routes are guarded as the others: a foreign host or a
// cross-origin browser request changes nothing.
func TestControlAPINotifyGuards(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t, Config{}, failThenAck)
	e.pay("NG_1", 100)
	e.deliver()
	id := e.sb.Notifications(TestAppID)[0].NotifyID
	routes := []struct{ method, path, body string }{
		{"GET", "/sandbox/api/notifications", ""},
		{"GET", "/sandbox/api/notifications/" + id, ""},
		{"POST", "/sandbox/api/notifications/" + id + "/resend", ""},
		{"POST", "/sandbox/api/notifications/deliver-due", ""},
		{"GET", "/sandbox/api/notify-faults", ""},
		{"POST", "/sandbox/api/notify-faults", `{"duplicate":1}`},
		{"DELETE", "/sandbox/api/notify-faults", ""},
	}
	e.sb.SetNotifyFault(NotifyScope{AppID: TestAppID}, NotifyFault{Reorder: 3})
	for _, r := range routes {
		wantErr(t, r.method+" "+r.path+" foreign host", e.api(r.method, r.path, r.body, "Host", "evil.example"), 403, "host_not_allowed")
		if r.method != "GET" {
			wantErr(t, r.method+" "+r.path+" cross-origin", e.api(r.method, r.path, r.body, "Origin", "https://evil.example"), 403, "cross_origin")
		}
	}
	e.deliver()
	if fs := e.sb.NotifyFaults(); len(fs) != 1 || fs[0].Fault.Reorder != 3 || len(e.attempts("NG_1")) != 1 {
		t.Fatalf("refused requests changed something: %+v %+v", fs, e.attempts("NG_1"))
	}
}
