package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
)

// openDirAt is openDir on a clock standing still at now, delivering
// notifies to loopback addresses.
func openDirAt(t *testing.T, dir string, appKey *rsa.PrivateKey, now time.Time) (*Sandbox, *alipay.Client) {
	t.Helper()
	sb, err := New(Config{DataDir: dir, Now: func() time.Time { return now }, HTTPClient: &http.Client{Transport: loopbackTransport()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Stop() })
	if _, ok := sb.App(TestAppID); !ok {
		if err := sb.AddApp(App{AppID: TestAppID, AppPublicKey: &appKey.PublicKey}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	keyPEM, err := alipay.MarshalPrivateKeyPEM(appKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := alipay.MarshalPublicKeyPEM(sb.AlipayPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	c, err := alipay.New(alipay.Config{AppID: TestAppID, PrivateKey: string(keyPEM), AlipayPublicKey: string(pubPEM),
		Gateway: srv.URL + "/gateway.do", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return sb, c
}

// deliverDue runs sb.DeliverDue with a guard against a hang.
func deliverDue(t *testing.T, sb *Sandbox) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sb.DeliverDue(c); err != nil {
		t.Fatal(err)
	}
}

// A notify whose first delivery failed survives a restart with its
// notify_id and place in the retry schedule; faults and the clock's
// advance survive too.
func TestPersistNotifyResumes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, failThenAck)
	start := time.Now().Truncate(time.Second)

	sb, client := openDirAt(t, dir, appKey, start)
	sb.Advance(time.Hour)
	if _, err := client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: "PN_1", AuthCode: AuthCodeSuccess,
		TotalAmount: 100, Subject: "persist", NotifyURL: rc.URL}); err != nil {
		t.Fatal(err)
	}
	deliverDue(t, sb)
	ns := sb.Notifications(TestAppID)
	if len(ns) != 1 || ns[0].State != NotifyPending || ns[0].Attempts != 1 {
		t.Fatalf("before the restart: %+v", ns)
	}
	id, nextAt := ns[0].NotifyID, ns[0].NextAttemptAt
	if !nextAt.Equal(start.Add(time.Hour + 4*time.Minute)) {
		t.Fatalf("next attempt at %v", nextAt)
	}
	f, err := sb.SetFault(Fault{AppID: TestAppID, Kind: FaultSystemError, Method: "alipay.trade.query", Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	nf := NotifyFault{Duplicate: 1, Delay: time.Minute}
	if err := sb.SetNotifyFault(NotifyScope{AppID: TestAppID, OutTradeNo: "PN_2"}, nf); err != nil {
		t.Fatal(err)
	}
	faults, notifyFaults := sb.Faults(), sb.NotifyFaults()
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}

	sb2, client2 := openDirAt(t, dir, appKey, start)
	if now := sb2.Now(); !now.Equal(start.Add(time.Hour)) {
		t.Errorf("the clock's advance was lost: %v", now)
	}
	ns = sb2.Notifications(TestAppID)
	if len(ns) != 1 || ns[0].NotifyID != id || ns[0].State != NotifyPending || ns[0].Attempts != 1 || !ns[0].NextAttemptAt.Equal(nextAt) ||
		ns[0].Params.Get("out_trade_no") != "PN_1" || ns[0].Params.Get("notify_id") != id {
		t.Fatalf("after the restart: %+v", ns)
	}
	got := sb2.Faults()
	if len(got) != 1 || got[0].ID != f.ID || got[0].Remaining != 2 || got[0].Kind != FaultSystemError || !got[0].Created.Equal(faults[0].Created) {
		t.Errorf("API faults %+v, were %+v", got, faults)
	}
	if got := sb2.NotifyFaults(); !reflect.DeepEqual(got, notifyFaults) {
		t.Errorf("notify faults %+v, were %+v", got, notifyFaults)
	}
	if f2, err := sb2.SetFault(Fault{AppID: TestAppID, Kind: FaultHang}); err != nil || f2.ID == f.ID {
		t.Errorf("a new fault reuses the id %s: %v", f2.ID, err)
	}

	// Nothing is sent before the schedule says so; then the same notify.
	deliverDue(t, sb2)
	if n := len(rc.received()); n != 1 {
		t.Fatalf("%d deliveries before the retry was due", n)
	}
	sb2.Advance(4 * time.Minute)
	deliverDue(t, sb2)
	got2 := rc.received()
	if len(got2) != 2 || got2[1].form.Get("notify_id") != id {
		t.Fatalf("deliveries %+v", got2)
	}
	if _, err := client2.VerifyNotification(got2[1].form); err != nil {
		t.Errorf("the resumed notify does not verify: %v", err)
	}
	as := sb2.NotifyAttempts(TestAppID, "PN_1")
	if n, _ := sb2.Notification(id); len(as) != 1 || as[0].Attempt != 2 || !as[0].Acknowledged || n.State != NotifyAcknowledged {
		t.Fatalf("attempts %+v, notification %+v", as, n)
	}
	if err := sb2.Stop(); err != nil {
		t.Fatal(err)
	}
	// Acknowledged, it is no longer kept.
	b, err := os.ReadFile(filepath.Join(dir, StateFileName))
	if err != nil || strings.Contains(string(b), id) {
		t.Errorf("the acknowledged notify is still saved (%v)", err)
	}
}

// A version 1 file (before notifies and faults were saved) loads, and is
// written back as version 2.
func TestPersistLoadsVersion1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sb, client := openDirAt(t, dir, appKey, time.Now())
	if _, err := client.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "V1_1", TotalAmount: 500, Subject: "y", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, StateFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v2 := range []string{"clock_advance", "fault_seq", `"faults"`, "notify_faults", "notifications"} {
		if strings.Contains(string(b), v2) {
			t.Fatalf("the state without notifies or faults has %s:\n%s", v2, b)
		}
	}
	v1 := strings.Replace(string(b), `"version": 2`, `"version": 1`, 1)
	if v1 == string(b) {
		t.Fatalf("no version 2 in\n%s", b)
	}
	if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	sb, _ = openDirAt(t, dir, appKey, time.Now())
	if tr, ok := sb.Trade(TestAppID, "V1_1"); !ok || tr.Status != alipay.TradeStatusWaitBuyerPay {
		t.Fatalf("the version 1 trade: %+v %v", tr, ok)
	}
	if len(sb.Notifications(TestAppID)) != 0 || len(sb.Faults()) != 0 || len(sb.NotifyFaults()) != 0 {
		t.Fatal("a version 1 file brought notifies or faults")
	}
	sb.Finish(TestAppID, "V1_1") // refused (unpaid); any change would do
	sb.Advance(time.Minute)      // a change of version 2 only
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"version": 2`) || !strings.Contains(string(b), `"clock_advance": "1m0s"`) {
		t.Errorf("not written back as version 2:\n%s", b)
	}

	// A version 1 file with the fields of version 2 is not one.
	bad := strings.Replace(v1, `"checkouts": []`, `"checkouts": [], "fault_seq": 3`, 1)
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, StateFileName), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{DataDir: dir2}); err == nil || !strings.Contains(err.Error(), "version 1 file with the fields of version 2") {
		t.Errorf("a version 1 file with version 2 fields: %v", err)
	}
}
