package cli

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"zhifu/alipay"
)

// notifyVector is one entry of notify.json.
type notifyVector struct {
	Name         string            `json:"name"`
	StringToSign string            `json:"string_to_sign"`
	Sign         string            `json:"sign"`
	PostedForm   map[string]string `json:"posted_form"`
	PostedBody   string            `json:"posted_body_x_www_form_urlencoded"`
	RedirectURL  string            `json:"redirect_url"`
}

// responseVector is one entry of response_verification.json.
type responseVector struct {
	Name         string `json:"name"`
	Method       string `json:"method"`
	ResponseBody string `json:"response_body"`
	SDKAccepts   bool   `json:"sdk_accepts"`
	ValidateSign *bool  `json:"validateSign"`
}

func notifyVectors(t *testing.T) (notifies []notifyVector, ret notifyVector) {
	t.Helper()
	var v struct {
		NotifyCases []notifyVector `json:"notify_cases"`
		ReturnCase  notifyVector   `json:"return_case"`
	}
	loadVectors(t, "notify.json", &v)
	return v.NotifyCases, v.ReturnCase
}

func notifyVectorNamed(t *testing.T, name string) notifyVector {
	t.Helper()
	notifies, _ := notifyVectors(t)
	for _, v := range notifies {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no notify vector %q", name)
	return notifyVector{}
}

func responseVectors(t *testing.T) map[string]responseVector {
	t.Helper()
	var v struct{ Cases []responseVector }
	loadVectors(t, "response_verification.json", &v)
	m := make(map[string]responseVector)
	for _, c := range v.Cases {
		m[c.Name] = c
	}
	return m
}

// encodeForm URL-encodes form, with each value first changed by edit.
func encodeForm(form map[string]string, edit func(k, v string) string) string {
	q := url.Values{}
	for k, v := range form {
		q.Set(k, edit(k, v))
	}
	return q.Encode()
}

func same(_, v string) string { return v }

// TestVerifyGenuine accepts every notify, return and response the official
// SDK accepts.
func TestVerifyGenuine(t *testing.T) {
	t.Parallel()
	alipayPub := keyPath("alipay_public.pem")
	type tc struct {
		name, stdin, key string
		args             []string
		want             string // in the OK line
	}
	var tests []tc
	notifies, ret := notifyVectors(t)
	for _, v := range notifies {
		if strings.Contains(v.Name, "tampered") {
			continue
		}
		want := "notify convention"
		if v.Name == "signed_including_sign_type" {
			want = "sign_type included"
		}
		tests = append(tests, tc{name: "notify " + v.Name, stdin: v.PostedBody + "\n", key: alipayPub, want: want})
	}
	tests = append(tests,
		tc{name: "return URL", stdin: ret.RedirectURL, key: alipayPub, want: "sync return alipay.trade.page.pay.return"},
		tc{name: "return query", stdin: ret.RedirectURL[strings.IndexByte(ret.RedirectURL, '?')+1:], key: keyPath("alipay_public.raw.txt"), want: "notify convention"},
		tc{name: "notify with certificate", stdin: notifies[0].PostedBody, key: testdata + "/certs/alipayCertPublicKey_RSA2.crt", want: "async notify trade_status_sync"},
	)
	for name, v := range responseVectors(t) {
		if !v.SDKAccepts || v.ValidateSign != nil {
			continue // rejected, or unsigned (TestVerifyRejects)
		}
		tests = append(tests, tc{name: "response " + name, stdin: v.ResponseBody, key: alipayPub, want: "the raw bytes of the " + alipay.ResponseNodeKey(v.Method)})
		tests = append(tests, tc{name: "response with --method " + name, stdin: v.ResponseBody, key: alipayPub, args: []string{"--method", v.Method, "--sign-type", "RSA2"}, want: "RSA2)"})
	}
	for _, v := range requestVectors(t) {
		if v.JavaStyleStringToSign != "" {
			continue
		}
		tests = append(tests, tc{name: "request " + v.Name, stdin: v.signedForm(), key: keyPath("app_public.pem"), want: "gateway request"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tt.stdin, append([]string{"verify", "--public-key", tt.key}, tt.args...)...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "signature OK (") || strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, tt.want) {
				t.Errorf("want one line \"signature OK (...%s...)\", got %v", tt.want, r)
			}
		})
	}
}

// TestVerifyRejects rejects tampered and mangled messages and names the
// cause.
func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	alipayPub := keyPath("alipay_public.pem")
	success := notifyVectorNamed(t, "trade_success")
	passback := notifyVectorNamed(t, "trade_success_passback_urlencoded")
	tampered := notifyVectorNamed(t, "trade_success_tampered_amount")
	responses := responseVectors(t)
	var emptyValue requestVector
	for _, v := range requestVectors(t) {
		if v.JavaStyleStringToSign != "" {
			emptyValue = v
		}
	}
	tests := []struct {
		name, stdin, key string
		args             []string
		want             []string // in stderr
	}{{
		name: "notify tampered amount", stdin: tampered.PostedBody, key: alipayPub,
		want: []string{"total_amount=100.00", "The key matches the signature", "a field was changed after signing (an amount edited"},
	}, {
		name: "response tampered amount", stdin: responses["query_tampered_amount"].ResponseBody, key: alipayPub,
		want: []string{`"total_amount":"9.99"`, "The key matches the signature", "edited after signing"},
	}, {
		name: "notify sign_type changed", key: alipayPub,
		stdin: encodeForm(success.PostedForm, func(k, v string) string {
			if k == "sign_type" {
				return "RSA"
			}
			return v
		}),
		want: []string{success.StringToSign + "\n", "made with RSA2 (SHA256withRSA), but sign_type says RSA"},
	}, {
		name: "response verified as RSA", stdin: responses["query_success"].ResponseBody, key: alipayPub, args: []string{"--sign-type", "RSA"},
		want: []string{"made with RSA2 (SHA256withRSA), but verified as RSA", "--sign-type RSA2"},
	}, {
		name: "app private key given", stdin: success.PostedBody, key: keyPath("app_private_pkcs8.pem"),
		want: []string{"app_private_pkcs8.pem is a private key, given where a public key belongs", "use the Alipay public key"},
	}, {
		name: "app public key given", stdin: success.PostedBody, key: keyPath("app_public.pem"),
		want: []string{"another key made it", "if this is your app public key, use the Alipay public key"},
	}, {
		name: "notify double-encoded", stdin: encodeForm(success.PostedForm, func(_, v string) string { return url.QueryEscape(v) }), key: alipayPub,
		want: []string{"The sign is still URL-encoded", "values are still URL-encoded after form-decoding", "URL-encoded twice"},
	}, {
		name: "passback_params decoded twice", key: alipayPub,
		stdin: encodeForm(passback.PostedForm, func(k, v string) string {
			if k == "passback_params" {
				v, _ = url.QueryUnescape(v)
			}
			return v
		}),
		want: []string{"passback_params was URL-decoded once too often", "passback_params=merchantBizType%3DorderPay%26uid%3D42"},
	}, {
		name: "sign not encoded", key: alipayPub,
		stdin: encodeForm(success.PostedForm, func(k, v string) string {
			if k == "sign" {
				return strings.ReplaceAll(v, "+", " ")
			}
			return v
		}),
		want: []string{"The sign has spaces where its + characters were"},
	}, {
		name: "response slashes unescaped", stdin: responses["precreate_tampered_unescaped_slashes"].ResponseBody, key: alipayPub,
		want: []string{`The \/ escapes of Alipay's JSON were removed after signing`},
	}, {
		name: "response white space", stdin: responses["query_whitespace_changed"].ResponseBody, key: alipayPub,
		want: []string{"White space in the node changed after signing"},
	}, {
		name: "response wrong key", stdin: responses["query_signed_with_wrong_key"].ResponseBody, key: alipayPub,
		want: []string{"another key made it", "use the Alipay public key"},
	}, {
		name: "response unsigned error", stdin: responses["error_response_unsigned"].ResponseBody, key: alipayPub,
		want: []string{"no signature", "unsigned error_response"},
	}, {
		name: "request with the Alipay key", stdin: requestVectors(t)[0].signedForm(), key: alipayPub,
		want: []string{"Requests are signed with the app private key: verify them with the app public key"},
	}, {
		name: "request signed with an empty value", stdin: emptyValue.signedForm(), key: keyPath("app_public.pem"),
		want: []string{emptyValue.JavaStyleStringToSign + "\n", "included the empty notify_url in the string-to-sign"},
	}, {
		name: "notify transcoded to GBK", key: alipayPub,
		stdin: encodeForm(success.PostedForm, func(k, v string) string {
			if k == "subject" {
				return "\xb2\xe2\xca\xd4\xc9\xcc\xc6\xb7 Tea" // 测试商品 in GBK
			}
			return v
		}),
		want: []string{"The value of subject holds bytes that are not UTF-8 (GBK?)"},
	}, {
		name: "app certificate for a cert-mode response", stdin: responses["query_success_cert_mode"].ResponseBody, key: testdata + "/certs/appCertPublicKey_2021000000000001.crt",
		want: []string{"alipayCertPublicKey_RSA2.crt", "alipay_cert_sn is 1f6eea578e7dc9555ec60965356f4506"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tt.stdin, append([]string{"verify", "--public-key", tt.key}, tt.args...)...)
			if r.code != 1 || r.stdout != "" {
				t.Fatalf("want exit 1 and nothing on stdout, got %v", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

// TestVerifyPrivateKeyThatMatches verifies with the public half of a
// private key given by mistake, and warns.
func TestVerifyPrivateKeyThatMatches(t *testing.T) {
	t.Parallel()
	privPEM := readTestdata(t, "keys/alipay_private_pkcs1.pem")
	r := run(t, notifyVectorNamed(t, "trade_success").PostedBody, "verify", "--public-key", keyPath("alipay_private_pkcs1.pem"))
	if r.code != 0 || !strings.Contains(r.stderr, "holds a private key; zhifu verified with its public half") {
		t.Errorf("%v", r)
	}
	checkNoSecret(t, r, privPEM)
}

// TestVerifyFormOfUnknownKind tries both conventions on a form that is
// neither a notify nor a request, and says which one matched.
func TestVerifyFormOfUnknownKind(t *testing.T) {
	t.Parallel()
	key, err := alipay.ParsePrivateKey(string(readTestdata(t, "keys/alipay_private_pkcs8.pem")))
	if err != nil {
		t.Fatal(err)
	}
	params := url.Values{"app_id": {"2021000000000001"}, "msg_type": {"sys"}, "sign_type": {"RSA2"}}
	for _, tt := range []struct {
		name string
		sign func() (string, error)
		want string
	}{
		{"notify convention", func() (string, error) { return alipay.SignNotify(key, alipay.SignTypeRSA2, params) }, "notify convention"},
		{"request convention", func() (string, error) { return alipay.SignRequest(key, alipay.SignTypeRSA2, params) }, "request convention"},
	} {
		sign, err := tt.sign()
		if err != nil {
			t.Fatal(err)
		}
		r := run(t, params.Encode()+"&sign="+url.QueryEscape(sign), "verify", "--public-key", keyPath("alipay_public.pem"))
		if r.code != 0 || !strings.Contains(r.stdout, "tried as a notify and as a request") || !strings.Contains(r.stdout, tt.want) {
			t.Errorf("%s: %v", tt.name, r)
		}
	}
}

func TestVerifyInputErrors(t *testing.T) {
	t.Parallel()
	alipayPub := keyPath("alipay_public.pem")
	tests := []struct {
		name, stdin, key string
		args             []string
		code             int
		want             string
	}{
		{"no key flag", "a=b", "", nil, 2, "--public-key FILE is required"},
		{"bad sign type flag", "a=b", alipayPub, []string{"--sign-type", "rsa2"}, 2, `--sign-type "rsa2"`},
		{"missing key file", "a=b", keyPath("none.pem"), nil, 1, "none.pem"},
		{"empty input", "", alipayPub, nil, 1, "stdin is empty"},
		{"broken JSON", `{"alipay_trade_query_response":`, alipayPub, nil, 1, "not a JSON object"},
		{"two response nodes", `{"a_response":{},"b_response":{},"sign":"x"}`, alipayPub, nil, 1, "pass --method"},
		{"not a response", `{"hello":1}`, alipayPub, nil, 1, "no <method>_response node"},
		{"wrong --method", `{"alipay_trade_query_response":{"code":"10000"},"sign":"x"}`, alipayPub, []string{"--method", "alipay.trade.refund"}, 1, "alipay_trade_refund_response"},
		{"unsupported sign_type", "notify_id=1&sign_type=SM2&sign=AAAA", alipayPub, nil, 1, "unsupported sign_type"},
		{"no sign", "notify_id=1&sign_type=RSA2", alipayPub, nil, 1, "There is no sign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"verify"}
			if tt.key != "" {
				args = append(args, "--public-key", tt.key)
			}
			r := run(t, tt.stdin, append(args, tt.args...)...)
			if r.code != tt.code || r.stdout != "" || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("got %v\nwant exit %d and %q", r, tt.code, tt.want)
			}
		})
	}
}

// TestVerifyLargeForm checks that a form of many parameters is diagnosed
// quickly (the per-parameter probes are bounded).
func TestVerifyLargeForm(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("notify_id=1&sign_type=RSA2&sign=" + url.QueryEscape(notifyVectorNamed(t, "trade_success").Sign))
	for i := range 5000 {
		b.WriteString("&k" + strconv.Itoa(i) + "=v%2520")
	}
	r := run(t, b.String(), "verify", "--public-key", keyPath("alipay_public.pem"))
	if r.code != 1 || !strings.Contains(r.stderr, "The key matches the signature") {
		t.Errorf("exit %d\n%.2000s", r.code, r.stderr)
	}
}
