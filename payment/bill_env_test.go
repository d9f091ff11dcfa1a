package payment_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/internal/testclock"
	"zhifu/payment"
	"zhifu/sandbox"
)

// billSandbox is a sandbox whose wall clock is the test's: request
// timestamps, the SDK's own bill_date check and the trade clock all follow
// the test's clock, so that a test can live through a day and ask for its
// bill the next morning (NewTestServer runs on time.Now, and Advance moves
// only the trade clock, which the SDK's timestamps cannot follow by more
// than the gateway's 15 minutes of allowed skew).
type billSandbox struct {
	clock *testclock.Clock
	priv  string // the app's private key, PEM
	pub   string // the sandbox's Alipay public key, PEM
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	appID string
	ali   *alipay.Client
}

// billAppID is the app of billSandbox.
const billAppID = "2021000000000077"

// newBillSandbox starts a sandbox with one app on a clock set to start,
// stopped when the test ends, and an SDK client of the app on the same
// clock.
func newBillSandbox(t testing.TB, start time.Time) *billSandbox {
	t.Helper()
	b := &billSandbox{clock: testclock.New(start), appID: billAppID}
	alipayKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b.sb, err = sandbox.New(sandbox.Config{Now: b.clock.Now, AlipayPrivateKey: alipayKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.sb.Stop() })
	if err := b.sb.AddApp(sandbox.App{AppID: b.appID, AppPublicKey: &appKey.PublicKey}); err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(b.sb)
	t.Cleanup(b.srv.Close) // before Stop: cleanups run last first
	priv, err := alipay.MarshalPrivateKeyPEM(appKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := alipay.MarshalPublicKeyPEM(&alipayKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	b.priv, b.pub = string(priv), string(pub)
	b.ali = b.clientOn(t, b.clock.Now)
	return b
}

// clientOn returns an SDK client of the app whose clock is now.
func (b *billSandbox) clientOn(t testing.TB, now func() time.Time) *alipay.Client {
	t.Helper()
	c, err := alipay.New(alipay.Config{
		AppID: b.appID, PrivateKey: b.priv, AlipayPublicKey: b.pub,
		Gateway: b.srv.URL + "/gateway.do", HTTPClient: b.srv.Client(), Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// account returns the account the sandbox's bills are of.
func (b *billSandbox) account() string {
	app, _ := b.sb.App(b.appID)
	return app.SellerID + "0156"
}

// bill downloads the trade bill of day through the SDK, as the
// reconciler does.
func (b *billSandbox) bill(t testing.TB, day payment.BillDate) []byte {
	t.Helper()
	ctx := context.Background()
	resp, err := b.ali.DataDataserviceBillDownloadURLQuery(ctx, alipay.DataDataserviceBillDownloadURLQueryRequest{
		BillType: alipay.BillTypeTrade, BillDate: day.String()})
	if err != nil {
		t.Fatalf("bill URL of %s: %v", day, err)
	}
	zipBytes, err := b.ali.DownloadBill(ctx, resp.BillDownloadURL)
	if err != nil {
		t.Fatalf("download the bill of %s: %v", day, err)
	}
	return zipBytes
}

// billTestDay is the day the bill tests live through, in Beijing time.
func billTestDay() payment.BillDate {
	d, err := payment.ParseBillDate("2026-05-20")
	if err != nil {
		panic(err)
	}
	return d
}
