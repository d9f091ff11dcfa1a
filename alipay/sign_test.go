package alipay

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func valuesOf(m map[string]string) url.Values {
	v := make(url.Values, len(m))
	for k, s := range m {
		v.Set(k, s)
	}
	return v
}

// TestRequestVectors checks every request the official SDK signed: the
// string to sign rebuilt from the sent parameters, and the signature, byte
// for byte.
func TestRequestVectors(t *testing.T) {
	var file struct{ Cases []requestCase }
	loadVectors(t, "request_signing.json", &file)
	if len(file.Cases) < 10 {
		t.Fatalf("only %d request vectors", len(file.Cases))
	}
	priv := testPrivateKey(t, "app_private_pkcs1.pem")
	pub := testPublicKey(t, "app_public.pem")
	for _, tc := range file.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			st := SignTypeRSA2
			if tc.Algorithm == "RSA-SHA1" {
				st = SignTypeRSA
			}
			if SignType(tc.Params["sign_type"]) != st {
				t.Fatalf("vector sign_type %q, algorithm %s", tc.Params["sign_type"], tc.Algorithm)
			}
			params := valuesOf(tc.Params)
			got := RequestStringToSign(params)
			want := tc.StringToSign
			if tc.JavaStyleStringToSign != "" {
				// The Node SDK signed "notify_url=" (an empty value); the
				// gateway, like the Java SDK, leaves blank values out.
				want = tc.JavaStyleStringToSign
				if got == tc.StringToSign {
					t.Fatal("blank value kept in the string to sign")
				}
				if err := VerifyRequest(&priv.PublicKey, params); !errors.Is(err, ErrSignature) {
					t.Fatalf("a request signed over a blank value verified: %v", err)
				}
				return
			}
			if got != want {
				t.Fatalf("string to sign\n got %s\nwant %s", got, want)
			}
			sign, err := SignRequest(priv, st, params)
			if err != nil {
				t.Fatal(err)
			}
			if sign != tc.Sign {
				t.Fatalf("sign\n got %s\nwant %s", sign, tc.Sign)
			}
			if err := VerifyRequest(pub, params); err != nil {
				t.Fatalf("VerifyRequest: %v", err)
			}
			params.Set("biz_content", params.Get("biz_content")+" ")
			if err := VerifyRequest(pub, params); !errors.Is(err, ErrSignature) {
				t.Fatalf("tampered request verified: %v", err)
			}
		})
	}
}

// TestSignKeyEncodings: PKCS#1, PKCS#8, PEM and bare base64 of one key give
// one signature.
func TestSignKeyEncodings(t *testing.T) {
	t.Parallel()
	content := []byte("app_id=2021000000000001&method=alipay.trade.query")
	var first string
	for _, name := range []string{"app_private_pkcs1.pem", "app_private_pkcs8.pem", "app_private_pkcs1.raw.txt", "app_private_pkcs8.raw.txt"} {
		sig, err := Sign(testPrivateKey(t, name), SignTypeRSA2, content)
		if err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = sig
		} else if sig != first {
			t.Errorf("%s signs differently", name)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	priv := testPrivateKey(t, "app_private_pkcs1.pem")
	other := testPublicKey(t, "alipay_public.pem")
	content := []byte("a=1&b=2")
	sig, err := Sign(priv, SignTypeRSA2, content)
	if err != nil {
		t.Fatal(err)
	}
	sha1sig, err := Sign(priv, SignTypeRSA, content)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		t       SignType
		content string
		sign    string
	}{
		{"other content", SignTypeRSA2, "a=1&b=3", sig},
		{"empty sign", SignTypeRSA2, "a=1&b=2", ""},
		{"not base64", SignTypeRSA2, "a=1&b=2", "!!!" + sig[3:]},
		{"truncated", SignTypeRSA2, "a=1&b=2", sig[:len(sig)-4]},
		{"huge", SignTypeRSA2, "a=1&b=2", strings.Repeat(sig, 10)},
		{"RSA signature checked as RSA2", SignTypeRSA2, "a=1&b=2", sha1sig},
		{"RSA2 signature checked as RSA", SignTypeRSA, "a=1&b=2", sig},
	} {
		if err := Verify(&priv.PublicKey, tc.t, []byte(tc.content), tc.sign); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", tc.name, err)
		}
	}
	if err := Verify(other, SignTypeRSA2, content, sig); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong key: err = %v", err)
	}
	if err := Verify(&priv.PublicKey, "MD5", content, sig); err == nil || errors.Is(err, ErrSignature) {
		t.Errorf("unknown sign type: err = %v", err)
	}
	if err := Verify(&priv.PublicKey, SignTypeRSA, content, sha1sig); err != nil {
		t.Errorf("RSA (SHA1): %v", err)
	}
}

func TestStringToSignRules(t *testing.T) {
	t.Parallel()
	v := url.Values{
		"b":         {"2"},
		"a":         {"x y&z=1"},
		"sign":      {"SIG"},
		"sign_type": {"RSA2"},
		"empty":     {""},
		"blank":     {" \t"},
		"twice":     {"first", "second"},
		"中":         {"值"},
	}
	if got, want := RequestStringToSign(v), "a=x y&z=1&b=2&sign_type=RSA2&twice=first&中=值"; got != want {
		t.Errorf("request: got %q, want %q", got, want)
	}
	if got, want := NotifyStringToSign(v), "a=x y&z=1&b=2&twice=first&中=值"; got != want {
		t.Errorf("notify: got %q, want %q", got, want)
	}
	if got := RequestStringToSign(url.Values{}); got != "" {
		t.Errorf("empty: %q", got)
	}
}
