package cli

import (
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"zhifu/alipay"
)

// requestVector is one entry of request_signing.json.
type requestVector struct {
	Name                  string            `json:"name"`
	StringToSign          string            `json:"string_to_sign"`
	JavaStyleStringToSign string            `json:"java_style_string_to_sign"`
	Sign                  string            `json:"sign"`
	Params                map[string]string `json:"params"`
	OutputGetURL          string            `json:"output_get_url"`
}

func requestVectors(t *testing.T) []requestVector {
	t.Helper()
	var v struct{ Cases []requestVector }
	loadVectors(t, "request_signing.json", &v)
	if len(v.Cases) == 0 {
		t.Fatal("no request vectors")
	}
	return v.Cases
}

// form is the vector's parameters without sign, URL-encoded on one line.
func (v requestVector) form() string {
	q := url.Values{}
	for k, val := range v.Params {
		if k != "sign" {
			q.Set(k, val)
		}
	}
	return q.Encode() + "\n"
}

// signedForm is the vector's parameters with sign, URL-encoded on one line.
func (v requestVector) signedForm() string {
	return strings.TrimSuffix(v.form(), "\n") + "&sign=" + url.QueryEscape(v.Sign)
}

// lines is the vector's parameters without sign, one raw key=value a line.
func (v requestVector) lines() string {
	var b strings.Builder
	b.WriteString("# a comment\n")
	keys := make([]string, 0, len(v.Params))
	for k := range v.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "sign" {
			b.WriteString(k + "=" + v.Params[k] + "\r\n")
		}
	}
	return b.String()
}

// TestSignVectors signs every request the official SDK signed, with every
// form of the app key, and gets its signature byte for byte.
func TestSignVectors(t *testing.T) {
	t.Parallel()
	keys := []string{"app_private_pkcs1.pem", "app_private_pkcs8.pem", "app_private_pkcs1.raw.txt", "app_private_pkcs8.raw.txt"}
	for _, v := range requestVectors(t) {
		if v.JavaStyleStringToSign != "" {
			continue // signed with an empty value kept; TestSignEmptyValue
		}
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			for _, key := range keys {
				r := run(t, v.form(), "sign", "--private-key", keyPath(key), "-v")
				if r.code != 0 || r.stdout != v.Sign+"\n" {
					t.Fatalf("key %s: got %v\nwant sign %s", key, r, v.Sign)
				}
				if !strings.Contains(r.stderr, "string-to-sign:\n"+v.StringToSign+"\n") {
					t.Errorf("key %s: -v does not print the SDK's string-to-sign:\n%s", key, r.stderr)
				}
			}
			inputs := map[string]string{"lines": v.lines()}
			if v.OutputGetURL != "" {
				inputs["URL"] = v.OutputGetURL // carries a sign, which is ignored
			}
			for name, in := range inputs {
				r := run(t, in, "sign", "--private-key", keyPath(keys[0]))
				if r.code != 0 || r.stdout != v.Sign+"\n" {
					t.Errorf("input as %s: %v", name, r)
				}
			}
		})
	}
}

// TestSignEmptyValue signs the request the Node SDK signed with an empty
// notify_url as "notify_url=": zhifu, like the gateway, leaves it out, and
// says so.
func TestSignEmptyValue(t *testing.T) {
	t.Parallel()
	for _, v := range requestVectors(t) {
		if v.JavaStyleStringToSign == "" {
			continue
		}
		r := run(t, v.form(), "sign", "--private-key", keyPath("app_private_pkcs8.pem"))
		pub, err := alipay.ParsePublicKey(string(readTestdata(t, "keys/app_public.pem")))
		if err != nil {
			t.Fatal(err)
		}
		if r.code != 0 || alipay.Verify(pub, alipay.SignTypeRSA2, []byte(v.JavaStyleStringToSign), strings.TrimSpace(r.stdout)) != nil {
			t.Errorf("%s: not signed over the gateway's string: %v", v.Name, r)
		}
		if !strings.Contains(r.stderr, "empty notify_url left out") {
			t.Errorf("%s: no note about the empty value: %s", v.Name, r.stderr)
		}
	}
}

func TestSignErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	privPEM := readTestdata(t, "keys/app_private_pkcs8.pem")
	truncated := filepath.Join(dir, "truncated.pem")
	if err := os.WriteFile(truncated, privPEM[:len(privPEM)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	form := "app_id=2021000000000001&method=alipay.trade.query&sign_type=RSA2"
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"public key as private", form, []string{"--private-key", keyPath("app_public.pem")}, 1, "public key where the app private key belongs"},
		{"truncated key", form, []string{"--private-key", truncated}, 1, "truncated"},
		{"missing key file", form, []string{"--private-key", filepath.Join(dir, "none.pem")}, 1, "none.pem"},
		{"no key", form, nil, 2, "--private-key FILE is required"},
		{"bad sign type", form, []string{"--private-key", keyPath("app_private_pkcs8.pem"), "--sign-type", "SM2"}, 2, `--sign-type "SM2"`},
		{"sign type disagrees", form, []string{"--private-key", keyPath("app_private_pkcs8.pem"), "--sign-type", "RSA"}, 1, "the form says sign_type=RSA2"},
		{"empty stdin", "\n", []string{"--private-key", keyPath("app_private_pkcs8.pem")}, 1, "stdin is empty"},
		{"repeated parameter", form + "&method=x", []string{"--private-key", keyPath("app_private_pkcs8.pem")}, 1, `"method" appears 2 times`},
		{"bad escape", form + "&body=100%", []string{"--private-key", keyPath("app_private_pkcs8.pem")}, 1, "not valid URL encoding"},
		{"line without =", "app_id=1\nmethod\n", []string{"--private-key", keyPath("app_private_pkcs8.pem")}, 1, "line 2 has no '='"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tt.stdin, append([]string{"sign"}, tt.args...)...)
			if r.code != tt.code || r.stdout != "" || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("got %v\nwant exit %d and %q", r, tt.code, tt.want)
			}
			checkNoSecret(t, r, privPEM)
		})
	}
}

// TestSignNotes checks the notes for a form without sign_type.
func TestSignNotes(t *testing.T) {
	t.Parallel()
	r := run(t, "app_id=2021000000000001&method=alipay.trade.query", "sign", "--private-key", keyPath("app_private_pkcs8.pem"), "--sign-type", "RSA")
	if r.code != 0 || !strings.Contains(r.stderr, "add sign_type=RSA") {
		t.Errorf("%v", r)
	}
	pub, _ := alipay.ParsePublicKey(string(readTestdata(t, "keys/app_public.pem")))
	if err := alipay.Verify(pub, alipay.SignTypeRSA, []byte("app_id=2021000000000001&method=alipay.trade.query"), strings.TrimSpace(r.stdout)); err != nil {
		t.Errorf("not an RSA (SHA1) signature: %v", err)
	}
}
