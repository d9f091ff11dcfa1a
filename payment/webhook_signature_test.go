package payment_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"zhifu/payment"
)

// knownSignature is a signature computed apart from the Go code, with
// OpenSSL: printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac "$testWebhookSecret".
const knownSignature = "t=1700000000,v1=90d8507f3b65e396bdfdc53372713d85b69d4033e6c6ab36527311f44d3e0339"

func TestSignWebhookKnownAnswer(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"evt_1"}`)
	got := payment.SignWebhook(testWebhookSecret, time.Unix(1700000000, 0), body)
	if got != knownSignature {
		t.Fatalf("SignWebhook = %s\nwant          %s", got, knownSignature)
	}
}

func TestVerifyWebhookSignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"evt_X_2","type":"payment.paid"}`)
	now := time.Unix(1_800_000_000, 0)
	sig := payment.SignWebhook(testWebhookSecret, now, body)
	v1 := sig[strings.Index(sig, "v1="):]
	other := payment.SignWebhook("another-secret-of-at-least-32-chars!!", now, body)
	otherV1 := other[strings.Index(other, "v1="):]
	for _, tt := range []struct {
		name      string
		header    string
		body      []byte
		now       time.Time
		tolerance time.Duration
		ok        bool
	}{
		{"valid", sig, body, now, 0, true},
		{"valid, spaces", strings.ReplaceAll(sig, ",", " , "), body, now, 0, true},
		{"rotation: old and new secret", fmt.Sprintf("t=%d,%s,%s", now.Unix(), otherV1, v1), body, now, 0, true},
		{"unknown key ignored", sig + ",v0=abc", body, now, 0, true},
		{"4 minutes late", sig, body, now.Add(4 * time.Minute), 0, true},
		{"6 minutes late", sig, body, now.Add(6 * time.Minute), 0, false},
		{"6 minutes early", sig, body, now.Add(-6 * time.Minute), 0, false},
		{"6 minutes late, tolerance 10", sig, body, now.Add(6 * time.Minute), 10 * time.Minute, true},
		{"other secret", other, body, now, 0, false},
		{"body changed", sig, append([]byte(nil), append(body, '\n')...), now, 0, false},
		{"timestamp changed", fmt.Sprintf("t=%d,%s", now.Unix()+1, v1), body, now, 0, false},
		{"empty", "", body, now, 0, false},
		{"no v1", fmt.Sprintf("t=%d", now.Unix()), body, now, 0, false},
		{"no t", v1, body, now, 0, false},
		{"two t", sig + fmt.Sprintf(",t=%d", now.Unix()), body, now, 0, false},
		{"t not a number", "t=abc," + v1, body, now, 0, false},
		{"t negative", "t=-1," + v1, body, now, 0, false},
		{"v1 not hex", fmt.Sprintf("t=%d,v1=%s", now.Unix(), strings.Repeat("zz", 32)), body, now, 0, false},
		{"v1 short", fmt.Sprintf("t=%d,v1=abcd", now.Unix()), body, now, 0, false},
		{"keys in upper case", strings.ToUpper(sig), body, now, 0, false},
		{"no equals", "garbage", body, now, 0, false},
		{"too many v1", fmt.Sprintf("t=%d", now.Unix()) + strings.Repeat(","+otherV1, 8) + "," + v1, body, now, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := payment.VerifyWebhookSignature(testWebhookSecret, tt.header, tt.body, tt.now, tt.tolerance)
			if tt.ok != (err == nil) {
				t.Fatalf("VerifyWebhookSignature(%q) = %v, want ok=%v", tt.header, err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, payment.ErrWebhookSignature) {
					t.Errorf("error %v does not wrap ErrWebhookSignature", err)
				}
				if strings.Contains(err.Error(), testWebhookSecret) || strings.Contains(err.Error(), v1[3:]) {
					t.Errorf("error %v reveals the secret or the expected signature", err)
				}
			}
		})
	}
}

// FuzzVerifyWebhookSignature: any header is refused or accepted without
// a panic; a header accepted for a body is one that signs it; a signed
// body always verifies.
func FuzzVerifyWebhookSignature(f *testing.F) {
	f.Add(knownSignature, []byte(`{"id":"evt_1"}`), int64(1700000000))
	f.Add("t=1,v1=", []byte("{}"), int64(1))
	f.Add("t=99999999999999999999,v1=00", []byte(""), int64(0))
	f.Add(",,,=,t==,v1==", []byte("x"), int64(5))
	f.Fuzz(func(t *testing.T, header string, body []byte, unix int64) {
		if unix < 1 || unix > 1<<40 {
			unix = 1_700_000_000
		}
		now := time.Unix(unix, 0)
		signed := payment.SignWebhook(testWebhookSecret, now, body)
		if err := payment.VerifyWebhookSignature(testWebhookSecret, signed, body, now, 0); err != nil {
			t.Fatalf("a signed body does not verify: %v", err)
		}
		err := payment.VerifyWebhookSignature(testWebhookSecret, header, body, now, 0)
		if err == nil && !signsBody(header, body) {
			t.Fatalf("header %q verified without the signature of the body at its timestamp", header)
		}
		if err != nil && !errors.Is(err, payment.ErrWebhookSignature) {
			t.Fatalf("error %v does not wrap ErrWebhookSignature", err)
		}
	})
}

// headerTimestamp finds the t values of a Zhifu-Signature header.
var headerTimestamp = regexp.MustCompile(`(?:^|,)\s*t=([0-9]{1,12})\s*(?:,|$)`)

// signsBody reports whether header holds, in any case, the v1 signature
// of body at one of its timestamps.
func signsBody(header string, body []byte) bool {
	for _, m := range headerTimestamp.FindAllStringSubmatch(header, -1) {
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		sig := payment.SignWebhook(testWebhookSecret, time.Unix(sec, 0), body)
		if strings.Contains(strings.ToLower(header), sig[strings.Index(sig, "v1=")+3:]) {
			return true
		}
	}
	return false
}

// webhookVerifier is an independent verifier of webhook signatures, in
// another language, from testdata/webhook: the function docs/webhooks.md
// shows, with a command line around it. Each prints "ok" and exits 0 when
// the signature verifies, prints "invalid: ..." and exits 1 when not.
type webhookVerifier struct {
	lang    string // as named in ZHIFU_REQUIRE_<LANG>
	command string // the interpreter
	script  string // in testdata/webhook
	// begin and end are the lines around the function the docs show.
	begin, end string
}

var webhookVerifiers = []webhookVerifier{
	{"node", "node", "verify.js", "// BEGIN verifyZhifuSignature\n", "// END verifyZhifuSignature"},
	{"php", "php", "verify.php", "// BEGIN verify_zhifu_signature\n", "// END verify_zhifu_signature"},
	{"python", "python3", "verify.py", "# BEGIN verify_zhifu_signature\n", "# END verify_zhifu_signature"},
}

// path returns the path of v's interpreter, skipping the test when it is
// missing, unless ZHIFU_REQUIRE_<LANG>=1 (as in CI).
func (v webhookVerifier) path(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath(v.command)
	if err != nil {
		env := "ZHIFU_REQUIRE_" + strings.ToUpper(v.lang)
		if os.Getenv(env) == "1" {
			t.Fatalf("%s is required (%s=1) but not found: %v", v.command, env, err)
		}
		t.Skipf("%s not found: the independent (%s) check of webhook signatures is skipped; install it or set %s=1 to fail instead", v.command, v.lang, env)
	}
	return path
}

// verify runs v on a request and returns its output and whether it
// accepted the signature.
func (v webhookVerifier) verify(t *testing.T, path, header string, body []byte, now time.Time) (string, bool) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, filepath.Join("testdata", "webhook", v.script), header, file, fmt.Sprint(now.Unix()), "300")
	cmd.Env = append(os.Environ(), "ZHIFU_WEBHOOK_SECRET="+testWebhookSecret)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), true
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return string(out), false
	}
	t.Fatalf("%s %s: %v: %s", v.command, v.script, err, out)
	return "", false
}

// TestWebhookSignatureOtherLanguages: the signature of a real delivery
// verifies with Node's, PHP's and Python's own HMAC (the functions
// docs/webhooks.md shows), and a tampered body, another time, a forged or
// malformed header does not.
func TestWebhookSignatureOtherLanguages(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	rcv := newReceiver(t, nil)
	r := newWebhookRig(t, b, rcv, nil)
	r.start(t)
	c := paidChange(t, b.store, r.clock.Now())
	r.w.OnChange(t.Context(), c)
	q := rcv.next(t)
	r.stop(t)
	now := r.clock.Now()
	for _, v := range webhookVerifiers {
		t.Run(v.lang, func(t *testing.T) {
			t.Parallel()
			path := v.path(t)
			if out, ok := v.verify(t, path, q.Signature, q.Body, now); !ok || strings.TrimSpace(out) != "ok" {
				t.Fatalf("%s refuses the signature of a delivery: %s", v.lang, out)
			}
			// Unicode in the body is signed as its UTF-8 bytes on both sides.
			uni := []byte(`{"subject":"测试商品 ✓","amount":"12.34"}`)
			if out, ok := v.verify(t, path, payment.SignWebhook(testWebhookSecret, now, uni), uni, now); !ok {
				t.Errorf("%s refuses a signed Unicode body: %s", v.lang, out)
			}
			_, v1, _ := strings.Cut(q.Signature, ",v1=")
			for name, tc := range map[string]struct {
				header string
				body   []byte
				now    time.Time
			}{
				"tampered body":   {q.Signature, append(append([]byte(nil), q.Body...), ' '), now},
				"stale":           {q.Signature, q.Body, now.Add(10 * time.Minute)},
				"forged":          {payment.SignWebhook("a-forger-who-does-not-know-the-secret", now, q.Body), q.Body, now},
				"malformed":       {"v1=00", q.Body, now},
				"no equals sign":  {"t" + q.Signature, q.Body, now},
				"non-ASCII digit": {"t=\u00b2,v1=" + v1, q.Body, now},
				"huge timestamp":  {"t=" + strings.Repeat("9", 5000) + ",v1=" + v1, q.Body, now},
			} {
				if out, ok := v.verify(t, path, tc.header, tc.body, tc.now); ok || !strings.HasPrefix(out, "invalid: ") {
					t.Errorf("%s: %s answered %q, want invalid", name, v.lang, out)
				}
				// The Go verifier agrees.
				if err := payment.VerifyWebhookSignature(testWebhookSecret, tc.header, tc.body, tc.now, 0); err == nil {
					t.Errorf("%s: the Go verifier accepts it", name)
				}
			}
		})
	}
}

// TestWebhookDocsSnippets: docs/webhooks.md shows the very functions that
// the checks in other languages run.
func TestWebhookDocsSnippets(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range webhookVerifiers {
		src, err := os.ReadFile(filepath.Join("testdata", "webhook", v.script))
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok1 := strings.Cut(string(src), v.begin)
		fn, _, ok2 := strings.Cut(rest, v.end)
		if !ok1 || !ok2 || len(fn) < 200 {
			t.Fatalf("%s has no %q … %q block", v.script, v.begin, v.end)
		}
		if !strings.Contains(string(doc), fn) {
			t.Errorf("docs/webhooks.md does not show %s's function verbatim:\n%s", v.script, fn)
		}
	}
}
