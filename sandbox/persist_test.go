package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
)

// openDir starts a sandbox on dir behind an httptest server and returns it
// with a client of app (registered when not saved in dir yet).
func openDir(t *testing.T, dir string, appKey *rsa.PrivateKey) (*Sandbox, *alipay.Client) {
	t.Helper()
	sb, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
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

// normalized returns the trades with their times in UTC and without
// monotonic readings, as they come back from the state file.
func normalized(ts []TradeSnapshot) []TradeSnapshot {
	norm := func(at *time.Time) {
		if !at.IsZero() {
			*at = at.Round(0).UTC()
		}
	}
	out := make([]TradeSnapshot, len(ts))
	for i, t := range ts {
		for _, at := range []*time.Time{&t.GmtCreate, &t.GmtPayment, &t.GmtClose, &t.ExpiresAt} {
			norm(at)
		}
		t.Refunds = append([]Refund(nil), t.Refunds...)
		for j := range t.Refunds {
			norm(&t.Refunds[j].GmtRefund)
		}
		out[i] = t
	}
	return out
}

func TestPersistSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sb, c := openDir(t, dir, appKey)
	if _, err := c.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: "P_paid", TotalAmount: 10000, Subject: "paid, refunded in part", AuthCode: "281234567890123456"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "P_paid", RefundAmount: 2550, OutRequestNo: "R1", RefundReason: "退一部分"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "P_wait", TotalAmount: 1, Subject: "waiting", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TradeCreate(ctx, alipay.TradeCreateRequest{OutTradeNo: "P_closed", TotalAmount: 2, Subject: "closed", BuyerID: "2088102177846880"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TradeClose(ctx, alipay.TradeCloseRequest{OutTradeNo: "P_closed"}); err != nil {
		t.Fatal(err)
	}
	pre, err := c.TradePrecreate(ctx, alipay.TradePrecreateRequest{OutTradeNo: "P_qr", TotalAmount: 300, Subject: "QR not scanned yet"})
	if err != nil {
		t.Fatal(err)
	}
	app, _ := sb.App(TestAppID)
	before := sb.Trades(TestAppID)
	alipayKey := sb.AlipayPublicKey()
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, AlipayKeyFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("Alipay key file: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, StateFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file: %v %v", fi, err)
	}

	sb2, c2 := openDir(t, dir, appKey)
	defer sb2.Stop()
	if !sb2.AlipayPublicKey().Equal(alipayKey) {
		t.Error("the Alipay key changed")
	}
	if app2, ok := sb2.App(TestAppID); !ok || !reflect.DeepEqual(app2, app) {
		t.Errorf("app after restart %+v, want %+v", app2, app)
	}
	if after := sb2.Trades(TestAppID); !reflect.DeepEqual(normalized(after), normalized(before)) {
		t.Errorf("trades after restart:\n%+v\nwant\n%+v", after, before)
	}
	q, err := c2.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "P_paid"})
	if err != nil || q.TradeStatus != alipay.TradeStatusSuccess || q.TotalAmount != 10000 {
		t.Fatalf("query after restart: %+v %v", q, err)
	}
	// The refund is remembered: a repeat moves no money, the rest is
	// refundable, no more.
	r, err := c2.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "P_paid", RefundAmount: 2550, OutRequestNo: "R1"})
	if err != nil || r.RefundFee != 2550 {
		t.Fatalf("repeated refund: %+v %v", r, err)
	}
	_, err = c2.TradeRefund(ctx, alipay.TradeRefundRequest{OutTradeNo: "P_paid", RefundAmount: 7451, OutRequestNo: "R2"})
	if _, sub := subCode(t, err); sub != alipay.SubCodeRefundAmountExceeded {
		t.Errorf("refund above the rest: %v", err)
	}
	// The unscanned QR code still opens its trade, and a repeat of the
	// precreate gives the same code.
	pre2, err := c2.TradePrecreate(ctx, alipay.TradePrecreateRequest{OutTradeNo: "P_qr", TotalAmount: 300, Subject: "QR not scanned yet"})
	if err != nil || pathOf(pre2.QRCode) != pathOf(pre.QRCode) {
		t.Errorf("precreate repeated after restart: %q, was %q (%v)", pre2.QRCode, pre.QRCode, err)
	}
	if err := sb2.Pay(TestAppID, "P_qr"); err != nil {
		t.Fatal(err)
	}
	if err := sb2.Stop(); err != nil {
		t.Fatal(err)
	}
	sb3, _ := openDir(t, dir, appKey)
	defer sb3.Stop()
	if tr, ok := sb3.Trade(TestAppID, "P_qr"); !ok || tr.Status != alipay.TradeStatusSuccess {
		t.Errorf("payment after the restart was not saved: %+v", tr)
	}
}

// pathOf returns the path of a URL (the test servers' ports differ).
func pathOf(u string) string {
	if i := strings.Index(u, "/qr/"); i >= 0 {
		return u[i:]
	}
	return u
}

func TestPersistSavesWithoutStop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sb, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Stop()
	saved := make(chan struct{}, 1)
	sb.saver.mu.Lock()
	sb.saver.afterSave = func() {
		select {
		case saved <- struct{}{}:
		default:
		}
	}
	sb.saver.mu.Unlock()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.AddApp(App{AppID: "2021000000000077", AppPublicKey: &key.PublicKey}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-saved:
	case <-time.After(10 * time.Second):
		t.Fatal("the change was not saved")
	}
	b, err := os.ReadFile(filepath.Join(dir, StateFileName))
	if err != nil || !strings.Contains(string(b), `"app_id": "2021000000000077"`) || !strings.Contains(string(b), `"version": 2`) {
		t.Errorf("state file %s (%v)", b, err)
	}
}

func TestPersistCorruptFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content, want string
		movedAside          bool
	}{
		{"not JSON", `{"version": 1, "apps": [`, "is corrupt", true},
		{"bad trade", `{"version":1,"buyer_id":"","event_seq":0,"apps":[],"trades":[{"order":{"app_id":"a","out_trade_no":"x","total_amount":"1.00","default_timeout":"1h"},"trade_no":"1","trade_status":"PAID?"}],"checkouts":[]}`, "unknown trade_status", true},
		{"refunds do not add up", `{"version":1,"apps":[],"trades":[{"order":{"app_id":"a","out_trade_no":"x","total_amount":"1.00","default_timeout":"1h"},"trade_no":"1","trade_status":"TRADE_SUCCESS","refund_fee":"0.50"}],"checkouts":[]}`, "does not match its refunds", true},
		{"newer version", `{"version": 99, "apps": [], "webhooks": []}`, "unknown version 99", false},
		{"no version", `{"apps": []}`, "no version", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, StateFileName)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			sb, err := New(Config{DataDir: dir})
			if err == nil {
				sb.Stop()
				t.Fatal("New accepted the file")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s and say %q", err, path, tc.want)
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			_, statErr := os.Stat(path)
			switch {
			case tc.movedAside && (len(aside) != 1 || !errors.Is(statErr, os.ErrNotExist)):
				t.Errorf("not moved aside: %v, %v", aside, statErr)
			case tc.movedAside:
				if b, _ := os.ReadFile(aside[0]); string(b) != tc.content || !strings.Contains(err.Error(), aside[0]) {
					t.Errorf("the file kept aside holds %q; error %q", b, err)
				}
				// The next start begins empty and does not touch the copy.
				sb, err := New(Config{DataDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				if err := sb.Stop(); err != nil {
					t.Fatal(err)
				}
			case len(aside) != 0 || statErr != nil:
				t.Errorf("a file of another version was moved: %v, %v", aside, statErr)
			}
		})
	}
}

func TestPersistBadAlipayKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, AlipayKeyFileName)
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{DataDir: dir}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name %s", err, path)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	for _, content := range []string{"one", "two"} {
		if err := WriteFileAtomic(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != content {
			t.Errorf("%q %v, want %q", b, err, content)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil, 0o600); err == nil {
		t.Error("wrote into a missing directory")
	}
}
