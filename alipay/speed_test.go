package alipay

import (
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tests here hold the code written for speed to the standard library
// code it replaces: same output for every input tried.

// randomText returns a string of n bytes drawn from alphabet, or of any
// bytes (invalid UTF-8 included) when alphabet is empty.
func randomText(r *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		if alphabet == "" {
			b[i] = byte(r.UintN(256))
		} else {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
	}
	return string(b)
}

// textAlphabet mixes what needs escaping in a URL or in JSON with plain
// letters and multi-byte characters.
const textAlphabet = "aZ09-_.~ +/=&?%\"\\<>:,{}\x00\x1f\x7f测试\u2028\xff"

func TestAppendQueryEscape(t *testing.T) {
	t.Parallel()
	for c := range 256 {
		s := string([]byte{byte(c)})
		if got, want := string(appendQueryEscape(nil, s)), url.QueryEscape(s); got != want {
			t.Errorf("byte %#x: %q, want %q", c, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		alphabet := textAlphabet
		if i%4 == 0 {
			alphabet = ""
		}
		s := randomText(r, r.IntN(40), alphabet)
		if got, want := string(appendQueryEscape([]byte("x="), s)), "x="+url.QueryEscape(s); got != want {
			t.Fatalf("%q: %q, want %q", s, got, want)
		}
	}
}

func TestIsOutTradeNoAndTimeoutExpress(t *testing.T) {
	t.Parallel()
	outTradeNo := regexp.MustCompile(`^[0-9A-Za-z_]{1,64}$`)
	timeoutExpress := regexp.MustCompile(`^(?:[1-9][0-9]*[mhd]|1c)$`)
	r := rand.New(rand.NewPCG(3, 4))
	inputs := []string{"", "1c", "1C", "0m", "15m", "15", "m", "1cc", "2c", "100d", "1h\n", "ORDER_1", "订单",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "a-b", "a b", "a\n"}
	for range 5000 {
		inputs = append(inputs, randomText(r, r.IntN(8), "019mhdcx_ \n"), randomText(r, 60+r.IntN(8), "aZ9_"),
			randomText(r, r.IntN(6), ""))
	}
	for _, s := range inputs {
		if got, want := isOutTradeNo(s), outTradeNo.MatchString(s); got != want {
			t.Errorf("isOutTradeNo(%q) = %v, the regexp says %v", s, got, want)
		}
		if got, want := isTimeoutExpress(s), timeoutExpress.MatchString(s); got != want {
			t.Errorf("isTimeoutExpress(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}

// The method is added to a callback URL error after the fact; the message
// is the one the method joined to the field name gave.
func TestPagePayCallbackURLErrors(t *testing.T) {
	t.Parallel()
	c := newTestClient(t)
	req := TradePagePayRequest{OutTradeNo: "A1", TotalAmount: 1, Subject: "s", NotifyURL: "ftp://x"}
	_, err := c.PagePayURL(req)
	if want := `alipay: alipay.trade.page.pay: NotifyURL "ftp://x" is not an absolute http(s) URL`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	req = TradePagePayRequest{OutTradeNo: "A1", TotalAmount: 1, Subject: "s", ReturnURL: "https://x/" + strings.Repeat("a", 250)}
	_, err = c.WapPayURL(TradeWapPayRequest{OutTradeNo: "A1", TotalAmount: 1, Subject: "s", ReturnURL: req.ReturnURL})
	if want := `alipay: alipay.trade.wap.pay: ReturnURL is 260 characters long; Alipay accepts at most 256`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestAppendTime(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	zones := []*time.Location{time.UTC, beijing, time.FixedZone("", -7*3600-1800), time.FixedZone("", 14*3600)}
	times := []time.Time{{}, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 15, 59, 59, 999999999, time.UTC),
		time.Date(9999, 12, 31, 16, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(12345, 6, 7, 8, 9, 10, 0, beijing)}
	for range 20000 {
		sec := r.Int64N(int64(12000*365.25*24*3600)) - int64(1000*365.25*24*3600) - 62135596800
		times = append(times, time.Unix(sec, r.Int64N(1e9)).In(zones[r.IntN(len(zones))]))
	}
	for _, tm := range times {
		if got, want := FormatTime(tm), tm.In(beijing).Format(TimeLayout); got != want {
			t.Errorf("FormatTime(%v) = %q, want %q", tm, got, want)
		}
		if tm.IsZero() {
			continue
		}
		got, err := Time{tm}.MarshalText()
		if y := tm.In(beijing).Year(); y >= 0 && y <= 9999 && (err != nil || string(got) != FormatTime(tm)) {
			t.Errorf("MarshalText(%v) = %q, %v", tm, got, err)
		}
	}
}

func TestSignedParamsSort(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		ps := make(signedParams, r.IntN(40))
		for i := range ps {
			ps[i] = param{randomText(r, r.IntN(4), "ab_c"), randomText(r, 2, "xyz")}
		}
		keys := make([]string, len(ps))
		for i, p := range ps {
			keys[i] = p.key
		}
		slices.Sort(keys)
		ps.sort()
		for i, p := range ps {
			if p.key != keys[i] {
				t.Fatalf("sorted keys %v, want %v", ps, keys)
			}
		}
	}
}

func TestDaysIn(t *testing.T) {
	t.Parallel()
	for year := 0; year <= 9999; year++ {
		for month := time.January; month <= time.December; month++ {
			if got, want := daysIn(year, month), time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day(); got != want {
				t.Fatalf("daysIn(%d, %d) = %d, want %d", year, month, got, want)
			}
		}
	}
}
