package alipay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The tests here hold the code written for speed to the standard library
// code it replaces: same output for every input tried.

// randomText returns a string of n pieces drawn from alphabet, each piece
// a character of it or, where alphabet is not UTF-8, a byte; or n bytes of
// any value (invalid UTF-8 included) when alphabet is empty.
func randomText(r *rand.Rand, n int, alphabet string) string {
	if alphabet == "" {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return string(b)
	}
	var pieces []string
	for s := alphabet; s != ""; {
		_, size := utf8.DecodeRuneInString(s)
		pieces, s = append(pieces, s[:size]), s[size:]
	}
	var b strings.Builder
	for range n {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// textAlphabet mixes what needs escaping in a URL or in JSON with plain
// letters and multi-byte characters.
const textAlphabet = validAlphabet + "\xff\xe6"

// validAlphabet is textAlphabet without the bytes that are not UTF-8.
const validAlphabet = "aZ09-_.~ +/=&?%\"\\<>:,{}\x00\x1f\x7f测试\u2028"

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
			ps[i] = param{randomText(r, r.IntN(4), "abz_AZ0{\xff"), randomText(r, 2, "xyz")}
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

// referenceStringToSign is the string to sign as the package first built
// it: a map walk, slices.SortFunc, blank values and sign left out.
func referenceStringToSign(params url.Values, skipSignType bool) string {
	var ps []param
	for k, vs := range params {
		if k == "sign" || skipSignType && k == "sign_type" || len(vs) == 0 || isBlank(vs[0]) {
			continue
		}
		ps = append(ps, param{k, vs[0]})
	}
	slices.SortFunc(ps, func(a, b param) int { return strings.Compare(a.key, b.key) })
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key + "=" + p.value)
	}
	return b.String()
}

// referenceNotification is VerifyNotification as the package first wrote
// it: the signature over referenceStringToSign, then form.Get per field.
func referenceNotification(c *Client, form url.Values) (*Notification, error) {
	if len(form) == 0 {
		return nil, errors.New("alipay: the notify or return has no parameters")
	}
	t, sign := SignType(form.Get("sign_type")), form.Get("sign")
	err := Verify(c.alipayKey, t, []byte(referenceStringToSign(form, true)), sign)
	if err != nil && errors.Is(err, ErrSignature) && form.Get("sign_type") != "" {
		err = Verify(c.alipayKey, t, []byte(referenceStringToSign(form, false)), sign)
	}
	if err != nil {
		return nil, err
	}
	if appID := form.Get("app_id"); appID != c.appID {
		return nil, fmt.Errorf("alipay: signed for app %q, not this client's app %q (a notify of another app or environment?)", appID, c.appID)
	}
	n := &Notification{
		NotifyID: form.Get("notify_id"), NotifyType: form.Get("notify_type"), AppID: form.Get("app_id"),
		AuthAppID: form.Get("auth_app_id"), Charset: form.Get("charset"), Version: form.Get("version"),
		SignType: SignType(form.Get("sign_type")), TradeNo: form.Get("trade_no"), OutTradeNo: form.Get("out_trade_no"),
		OutBizNo: form.Get("out_biz_no"), BuyerID: form.Get("buyer_id"), BuyerLogonID: form.Get("buyer_logon_id"),
		SellerID: form.Get("seller_id"), SellerEmail: form.Get("seller_email"),
		TradeStatus: TradeStatus(form.Get("trade_status")), Subject: form.Get("subject"), Body: form.Get("body"),
		FundBillList: form.Get("fund_bill_list"), VoucherDetailList: form.Get("voucher_detail_list"),
		PassbackParams: form.Get("passback_params"), Params: form,
	}
	p := fieldParser{form: form}
	n.TotalAmount, n.ReceiptAmount = p.amount("total_amount"), p.amount("receipt_amount")
	n.InvoiceAmount, n.BuyerPayAmount = p.amount("invoice_amount"), p.amount("buyer_pay_amount")
	n.PointAmount, n.RefundFee = p.amount("point_amount"), p.amount("refund_fee")
	n.NotifyTime, n.GmtCreate, n.GmtPayment = p.time("notify_time"), p.time("gmt_create"), p.time("gmt_payment")
	n.GmtRefund, n.GmtClose = p.time("gmt_refund"), p.time("gmt_close")
	if p.err != nil {
		return nil, p.err
	}
	if n.OutTradeNo == "" && n.TradeNo == "" {
		return nil, errors.New("alipay: the notify names no trade (no out_trade_no or trade_no)")
	}
	return n, nil
}

// TestVerifyNotificationMatchesReference holds VerifyNotification, which
// reads the form in one pass, and the string-to-sign functions to the
// straightforward code they replace, over notifies edited at random and
// signed by Alipay's key: blank and repeated values, unknown and missing
// parameters, every sign_type, bad amounts and times.
func TestVerifyNotificationMatchesReference(t *testing.T) {
	t.Parallel()
	var file struct {
		NotifyCases []notifyCase `json:"notify_cases"`
	}
	loadVectors(t, "notify.json", &file)
	c := newTestClient(t)
	alipayPriv := testPrivateKey(t, "alipay_private_pkcs1.pem")
	r := rand.New(rand.NewPCG(9, 10))
	accepted := 0
	values := []string{"", " ", "\t", "x", "0.01", "1e3", "2024-05-20 12:35:30", "2024-02-30 00:00:00", "测试 & = +", "RSA2", "RSA", " RSA2"}
	keys := []string{"sign_type", "app_id", "total_amount", "refund_fee", "gmt_refund", "gmt_close", "notify_time",
		"out_trade_no", "trade_no", "subject", "body", "extra_param", "a", "zz", ""}
	for i := range 400 {
		tc := file.NotifyCases[i%len(file.NotifyCases)]
		form := valuesOf(tc.PostedForm)
		for range r.IntN(4) {
			k := keys[r.IntN(len(keys))]
			switch r.IntN(4) {
			case 0:
				form.Del(k)
			case 1:
				form[k] = []string{}
			case 2:
				form[k] = []string{values[r.IntN(len(values))], "second"}
			default:
				form.Set(k, values[r.IntN(len(values))])
			}
		}
		switch i % 5 {
		case 0: // left as posted: a failed signature unless nothing changed
		case 1, 2: // signed without sign_type, as trade notifies are
			if sign, err := Sign(alipayPriv, SignTypeRSA2, []byte(referenceStringToSign(form, true))); err == nil {
				form.Set("sign", sign)
			}
		default: // signed with sign_type included
			if sign, err := Sign(alipayPriv, SignType(form.Get("sign_type")), []byte(referenceStringToSign(form, false))); err == nil {
				form.Set("sign", sign)
			}
		}
		for _, skip := range []bool{true, false} {
			want := referenceStringToSign(form, skip)
			got := RequestStringToSign(form)
			if skip {
				got = NotifyStringToSign(form)
			}
			if got != want {
				t.Fatalf("string to sign of %v (without sign_type: %v):\n%s\nwant\n%s", form, skip, got, want)
			}
		}
		want, wantErr := referenceNotification(c, form)
		got, err := c.VerifyNotification(form)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || errors.Is(err, ErrSignature) != errors.Is(wantErr, ErrSignature) {
			t.Fatalf("form %v:\nerr  %v\nwant %v", form, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("form %v:\n%+v\nwant\n%+v", form, got, want)
		}
		if wantErr == nil {
			accepted++
		}
	}
	if accepted < 50 {
		t.Errorf("only %d of the edited notifies verified: the test edits too much", accepted)
	}
}

func TestParseTimeFast(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 12))
	inputs := []string{"2024-05-20 12:35:30", "2024-02-29 23:59:59", "2023-02-29 00:00:00", "0000-01-01 00:00:00",
		"9999-12-31 23:59:59", "2024-13-01 00:00:00", "2024-00-10 00:00:00", "2024-05-20 24:00:00", "2024-05-20 12:60:00",
		"2024-05-20 12:35:60", "2024-05-20T12:35:30", "2024-05-20 12:35:30.5", "2024-05-20 12:35:3", "２024-05-20 12:35:30"}
	for range 50000 {
		b := []byte(fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", r.IntN(10000), r.IntN(14), r.IntN(33), r.IntN(25), r.IntN(61), r.IntN(61)))
		if r.IntN(4) == 0 {
			b[r.IntN(len(b))] = "0:- x/"[r.IntN(6)]
		}
		inputs = append(inputs, string(b))
	}
	fast := 0
	for _, s := range inputs {
		want, wantErr := parseTime(s)
		got, ok := parseTimeFast(s)
		if ok {
			fast++
			if wantErr != nil || !got.Equal(want) || got.Location() != want.Location() || got != want {
				t.Errorf("parseTimeFast(%q) = %v, parseTime gives %v, %v", s, got, want, wantErr)
			}
		} else if wantErr == nil && len(s) == len(TimeLayout) {
			t.Errorf("parseTimeFast(%q) failed; parseTime gives %v", s, want)
		}
	}
	if fast < 10000 {
		t.Errorf("only %d inputs took the fast path", fast)
	}
}

// jsonString is s as encoding/json writes it without HTML escaping.
func jsonString(t *testing.T, s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	inputs := []string{"", "测试商品 Tea", `Tea & Cake = 2 items <b>"x"</b> \`, "\u2028\u2029\u2027\u202a", "\xe2\x80", "\xed\xa0\x80", "\U0001F600"}
	for c := range 256 {
		inputs = append(inputs, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b")
	}
	r := rand.New(rand.NewPCG(13, 14))
	for i := range 5000 {
		alphabet := textAlphabet
		if i%3 == 0 {
			alphabet = ""
		}
		inputs = append(inputs, randomText(r, r.IntN(30), alphabet))
	}
	for _, s := range inputs {
		if got, want := string(appendJSONString([]byte("x"), s)), "x"+jsonString(t, s); got != want {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	}
}

// TestPagePayBizContent holds the biz_content written out field by field
// to encoding/json's, errors included, over random requests.
func TestPagePayBizContent(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(15, 16))
	text := func() string {
		switch r.IntN(4) {
		case 0:
			return ""
		case 1:
			return randomText(r, r.IntN(12), "")
		}
		return randomText(r, r.IntN(12), textAlphabet)
	}
	amounts := []Amount{0, 1, 1234, MaxTradeAmount, MaxTradeAmount + 1, -1}
	times := []Time{{}, {time.Date(2024, 5, 20, 12, 34, 56, 789, beijing)}, {time.Date(2024, 5, 20, 23, 0, 0, 0, time.UTC)},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, beijing)}, {time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}}
	for range 5000 {
		req := TradePagePayRequest{
			OutTradeNo: text(), TotalAmount: amounts[r.IntN(len(amounts))], Subject: text(), ProductCode: text(),
			Body: text(), TimeoutExpress: text(), TimeExpire: times[r.IntN(len(times))], PassbackParams: text(),
			QRPayMode: text(), QRCodeWidth: r.IntN(3) * (r.IntN(300) - 100), IntegrationType: text(),
			RequestFromURL: text(), EnablePayChannels: text(), DisablePayChannels: text(), StoreID: text(),
			MerchantOrderNo: text(), ReturnURL: text(), NotifyURL: text(), AppAuthToken: text(),
		}
		if r.IntN(10) == 0 {
			req.GoodsDetail = []GoodsDetail{{GoodsID: text(), GoodsName: text(), Quantity: 1, Price: amounts[r.IntN(len(amounts))]}}
		}
		got, err := req.bizContent()
		want, wantErr := marshalBizContent(req)
		if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("%+v:\n%s, %v\nwant\n%s, %v", req, got, err, want, wantErr)
		}
	}
}

// TestPagePayURLEncoding checks page-pay URLs end to end over random
// requests: biz_content is encoding/json's, the query is every parameter
// QueryEscape'd in key order with sign last, and the sign verifies.
func TestPagePayURLEncoding(t *testing.T) {
	t.Parallel()
	c := newTestClient(t)
	c.now = func() time.Time { return time.Date(2024, 5, 20, 12, 34, 56, 0, beijing) }
	appKey := testPublicKey(t, "app_public.pem")
	r := rand.New(rand.NewPCG(17, 18))
	for i := range 60 {
		req := benchPagePayRequest
		req.Subject = "测试 " + randomText(r, 1+r.IntN(10), validAlphabet)
		req.Body = randomText(r, r.IntN(10), validAlphabet)
		req.PassbackParams = randomText(r, r.IntN(10), validAlphabet)
		req.TotalAmount = Amount(1 + r.IntN(100000))
		if i%2 == 0 {
			req.ReturnURL, req.TimeExpire = "", Time{time.Date(2024, 5, 21, 0, 0, 0, 0, beijing)}
		}
		if i%3 == 0 {
			req.GoodsDetail = []GoodsDetail{{GoodsID: "g1", GoodsName: "茶 & <tea>", Quantity: 2, Price: 50}}
		}
		u, err := c.PagePayURL(req)
		if err != nil {
			t.Fatal(err)
		}
		gateway, rawQuery, _ := strings.Cut(u, "?")
		query, err := url.ParseQuery(rawQuery)
		if gateway != GatewaySandbox || err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		req.ProductCode = ProductCodePagePay
		if want, _ := marshalBizContent(req); query.Get("biz_content") != want {
			t.Fatalf("biz_content %s, want %s", query.Get("biz_content"), want)
		}
		if err := VerifyRequest(appKey, query); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range query {
			if k != "sign" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		var want strings.Builder
		for _, k := range append(keys, "sign") {
			fmt.Fprintf(&want, "&%s=%s", url.QueryEscape(k), url.QueryEscape(query.Get(k)))
		}
		if rawQuery != want.String()[1:] {
			t.Fatalf("query\n%s\nwant\n%s", rawQuery, want.String()[1:])
		}
	}
}

// TestIsPlainCallbackURL checks that every URL isPlainCallbackURL lets
// through is one checkCallbackURL accepts, on random URL-like text.
func TestIsPlainCallbackURL(t *testing.T) {
	t.Parallel()
	prefixes := []string{"https://", "http://", "HTTPS://", "ftp://", "https:/", "https:///", "//", ""}
	pieces := []string{"a", "Z", "9", ".", "-", "_", "example.com", ":", "8443", "/", "?", "=", "&", "#", "%", "%2F",
		"%zz", "@", " ", "\x7f", "\x01", "测", "[", "]", "::1", "~", "+", "|", "\\", "\"", "<"}
	r := rand.New(rand.NewPCG(19, 20))
	inputs := []string{"https://merchant.example.com/alipay/notify", "https://merchant.example.com/pay/return?order=1&lang=zh",
		"http://127.0.0.1:8080/notify", "https://x/" + strings.Repeat("a", 246), "https://x/" + strings.Repeat("a", 247)}
	for range 100000 {
		var b strings.Builder
		b.WriteString(prefixes[r.IntN(len(prefixes))])
		b.WriteString(randomText(r, r.IntN(6), "ab9.-"))
		for range r.IntN(6) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		inputs = append(inputs, b.String())
	}
	plain := 0
	for _, s := range inputs {
		if isPlainCallbackURL(s) {
			plain++
			if err := checkCallbackURL("F", s); err != nil {
				t.Errorf("isPlainCallbackURL(%q), but checkCallbackURL: %v", s, err)
			}
		}
	}
	for _, s := range inputs[:4] {
		if !isPlainCallbackURL(s) && !strings.Contains(s, ":8080") {
			t.Errorf("isPlainCallbackURL(%q) = false", s)
		}
	}
	if plain < 3000 {
		t.Errorf("only %d random URLs were plain", plain)
	}
}
