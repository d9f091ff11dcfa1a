package cli

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"zhifu/internal/shop"
	"zhifu/payment"
)

func TestDemoHelpListsEveryFlag(t *testing.T) {
	t.Parallel()
	var stdout, stderr strings.Builder
	code := mainEnv(context.Background(), []string{"demo", "--help"}, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("zhifu demo --help exited %d: %s", code, stderr.String())
	}
	for _, want := range []string{"--addr HOST:PORT", "--data-dir DIR", "--time-scale F", "-v\n", "-h, --help", "(default 127.0.0.1:8080)", "Ctrl+C"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("zhifu demo --help does not show %q:\n%s", want, stdout.String())
		}
	}
	// The command list names it too.
	stdout.Reset()
	mainEnv(context.Background(), []string{"--help"}, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if !strings.Contains(stdout.String(), "  demo ") {
		t.Errorf("zhifu --help does not list demo:\n%s", stdout.String())
	}
}

func TestDemoRefusesBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"demo", "--data-dir", ""},
		{"demo", "--time-scale", "0"},
		{"demo", "--time-scale", "-1"},
		{"demo", "--time-scale", "2e6"},
		{"demo", "--addr", "foo", "--data-dir", filepath.Join(t.TempDir(), "never")},
		{"demo", "--addr", "127.0.0.1:99999", "--data-dir", filepath.Join(t.TempDir(), "never")},
		{"demo", "extra"},
	} {
		var stdout, stderr strings.Builder
		code := mainEnv(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "zhifu demo --help") {
			t.Errorf("%q: exit %d, stderr %q: want 2 and a pointer to --help", args, code, stderr.String())
		}
		if strings.Contains(stderr.String(), "not a loopback address") {
			t.Errorf("%q: a bad address warned about loopback: %q", args, stderr.String())
		}
		if n := len(args); n >= 2 && args[n-2] == "--data-dir" && args[n-1] != "" {
			if _, err := os.Stat(args[n-1]); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%q: refused, but the data directory was made (%v)", args, err)
			}
		}
	}
}

// runningDemo is zhifu demo running in-process.
type runningDemo struct {
	stdout, stderr *notifyBuffer
	stop           context.CancelFunc
	exited         chan int
	url            string
}

var shopLine = regexp.MustCompile(`(?m)^  shop:\s+(\S+)/$`)

// startDemoCommand runs zhifu demo with args until stopped, and waits
// until it has printed the shop's URL.
func startDemoCommand(t *testing.T, args ...string) *runningDemo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rd := &runningDemo{stdout: newNotifyBuffer(), stderr: newNotifyBuffer(), stop: cancel, exited: make(chan int, 1)}
	go func() {
		rd.exited <- mainEnv(ctx, append([]string{"demo"}, args...), func(string) string { return "" }, strings.NewReader(""), rd.stdout, rd.stderr)
	}()
	deadline := time.After(time.Minute)
	for {
		if m := shopLine.FindStringSubmatch(rd.stdout.String()); m != nil && strings.Contains(rd.stdout.String(), "Stop with Ctrl+C") {
			rd.url = m[1]
			return rd
		}
		select {
		case <-rd.stdout.written:
		case code := <-rd.exited:
			cancel()
			t.Fatalf("zhifu demo exited with %d before it was ready\nstdout:\n%s\nstderr:\n%s", code, rd.stdout, rd.stderr)
		case <-deadline:
			cancel()
			t.Fatalf("zhifu demo did not print the shop's URL\nstdout:\n%s\nstderr:\n%s", rd.stdout, rd.stderr)
		}
	}
}

// shutdown stops the demo as Ctrl+C does and returns its exit code.
func (rd *runningDemo) shutdown(t *testing.T) int {
	t.Helper()
	rd.stop()
	select {
	case code := <-rd.exited:
		return code
	case <-time.After(time.Minute):
		t.Fatal("zhifu demo did not stop")
		return -1
	}
}

func TestDemoCommandServesTheShopAndKeepsOrders(t *testing.T) {
	dir := t.TempDir()
	rd := startDemoCommand(t, "--addr", "127.0.0.1:0", "--data-dir", dir)
	out := rd.stdout.String()
	for _, want := range []string{"starting the Alipay sandbox…", "opening the SQLite database", "ready.", "sandbox dashboard:  " + rd.url + "/sandbox/", DemoBuyerAccount, DemoBuyerBalance, dir} {
		if !strings.Contains(out, want) {
			t.Errorf("zhifu demo did not print %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+rd.stderr.String(), "PRIVATE KEY") {
		t.Error("zhifu demo printed a private key")
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	body := get(t, browser, rd.url+"/")
	if !strings.Contains(body, "支付宝付款") || !strings.Contains(body, "Pay with Alipay") {
		t.Fatalf("the shop's page has no pay button:\n%s", body)
	}
	// A page payment goes to the sandbox's cashier, which shows the buyer
	// and balance zhifu demo printed.
	token := regexp.MustCompile(`name="csrf_token" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if token == nil {
		t.Fatal("no csrf_token on the shop's page")
	}
	resp, err := browser.PostForm(rd.url+"/pay", url.Values{"csrf_token": {token[1]}, "product": {"lantern"}, "channel": {"page"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	payURL := resp.Header.Get("Location")
	if !strings.HasPrefix(payURL, rd.url+"/gateway.do?") {
		t.Fatalf("pay answered %s, Location %q: want the demo's gateway", resp.Status, payURL)
	}
	resp, err = browser.Get(payURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cashier := get(t, browser, resp.Header.Get("Location"))
	for _, want := range []string{DemoBuyerAccount, DemoBuyerBalance} {
		if !strings.Contains(cashier, want) {
			t.Errorf("the cashier does not show %q, which zhifu demo prints", want)
		}
	}
	if code := rd.shutdown(t); code != exitOK {
		t.Fatalf("zhifu demo exited %d on Ctrl+C\nstderr:\n%s", code, rd.stderr)
	}
	if !strings.Contains(rd.stdout.String(), "stopped; orders and trades are kept in") {
		t.Errorf("zhifu demo did not say it stopped:\n%s", rd.stdout)
	}

	// The next start finds the order, and the same app.
	rd2 := startDemoCommand(t, "--addr", "127.0.0.1:0", "--data-dir", dir)
	defer rd2.shutdown(t)
	u, _ := url.Parse(rd.url)
	u2, _ := url.Parse(rd2.url)
	jar.SetCookies(u2, jar.Cookies(u))
	if body := get(t, browser, rd2.url+"/orders"); !strings.Contains(body, "红灯笼") {
		t.Errorf("after a restart, my orders does not list the order:\n%s", body)
	}
}

func TestDemoSaysWhenThePortIsTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr strings.Builder
	code := mainEnv(context.Background(), []string{"demo", "--addr", ln.Addr().String(), "--data-dir", t.TempDir()}, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{ln.Addr().String(), "already in use", "--addr 127.0.0.1:0"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the error does not say %q: %s", want, stderr.String())
		}
	}
}

// TestStartDemoExpiresOrdersWhenTheClockMoves checks the clock of the
// stack: moving it past an order's expiry makes the jobs close it.
func TestStartDemoExpiresOrdersWhenTheClockMoves(t *testing.T) {
	t.Parallel()
	d := startTestDemo(t)
	p, err := d.Service.CreatePayment(context.Background(), payment.CreatePaymentRequest{
		Subject: "过期测试", Amount: 100, Channel: payment.ChannelPage,
		Metadata: map[string]string{shop.MetadataBuyer: "b_test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Advance(payment.DefaultExpiry + time.Minute)
	waitOrder(t, d, p.Order.ID, payment.StatusClosed)
}

// testDemo is the demo stack of a test, with a signal of order changes.
type testDemo struct {
	*Demo
	changed chan struct{} // receives after an order changed (capacity 1)
}

// startTestDemo starts the demo stack on a free loopback port with a
// temporary data directory, stopped when the test ends.
func startTestDemo(t *testing.T) *testDemo {
	t.Helper()
	td := &testDemo{changed: make(chan struct{}, 1)}
	d, err := StartDemo(context.Background(), DemoConfig{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), JobPollInterval: 50 * time.Millisecond,
		OnChange: func(context.Context, payment.Change) {
			select {
			case td.changed <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	td.Demo = d
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return td
}

// waitOrder waits until the order reaches status: the jobs and notifies
// of the demo run on their own goroutines, and every change they commit
// is signalled.
func waitOrder(t *testing.T, d *testDemo, id string, status payment.Status) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		o, err := d.Service.GetOrder(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status == status {
			return
		}
		select {
		case <-d.changed:
		case <-deadline:
			t.Fatalf("order %s is %s after 30s, want %s", id, o.Status, status)
		}
	}
}

// get fetches u with c and returns the body, failing on a status other
// than 200.
func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", u, resp.Status, b)
	}
	return string(b)
}
