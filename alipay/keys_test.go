package alipay

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
)

func TestParseKeyForms(t *testing.T) {
	t.Parallel()
	want := testPrivateKey(t, "app_private_pkcs1.pem")
	for _, name := range []string{"app_private_pkcs1.pem", "app_private_pkcs8.pem", "app_private_pkcs1.raw.txt", "app_private_pkcs8.raw.txt"} {
		text := string(readTestdata(t, "keys/"+name))
		for _, form := range []struct{ name, text string }{
			{"as is", text},
			{"CRLF", strings.ReplaceAll(text, "\n", "\r\n")},
			{"literal \\n", strings.ReplaceAll(strings.TrimSpace(text), "\n", `\n`)},
			{"indented", "  " + text + "\n\n"},
		} {
			k, err := ParsePrivateKey(form.text)
			if err != nil {
				t.Errorf("%s %s: %v", name, form.name, err)
				continue
			}
			if !k.Equal(want) {
				t.Errorf("%s %s: a different key", name, form.name)
			}
		}
	}
	pub := testPublicKey(t, "app_public.pem")
	raw := testPublicKey(t, "app_public.raw.txt")
	if !samePublicKey(pub, raw) || !samePublicKey(pub, &want.PublicKey) {
		t.Error("public key forms differ")
	}
	// PKCS#1 "RSA PUBLIC KEY" too.
	p1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)})
	if k, err := ParsePublicKey(string(p1)); err != nil || !samePublicKey(k, pub) {
		t.Errorf("PKCS#1 public key: %v", err)
	}
	// A bare base64 key pasted across lines.
	wrapped := ""
	b64 := strings.TrimSpace(string(readTestdata(t, "keys/app_public.raw.txt")))
	for i := 0; i < len(b64); i += 64 {
		wrapped += b64[i:min(i+64, len(b64))] + "\n"
	}
	if k, err := ParsePublicKey(wrapped); err != nil || !samePublicKey(k, pub) {
		t.Errorf("wrapped base64: %v", err)
	}
}

func TestParseKeyMistakes(t *testing.T) {
	t.Parallel()
	privPEM := string(readTestdata(t, "keys/app_private_pkcs8.pem"))
	pubPEM := string(readTestdata(t, "keys/app_public.pem"))
	pubRaw := strings.TrimSpace(string(readTestdata(t, "keys/app_public.raw.txt")))
	certPEM := string(readTestdata(t, "certs/appCertPublicKey_2021000000000001.crt"))
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPEM, _ := MarshalPrivateKeyPEM(small)
	smallPub, _ := MarshalPublicKeyPEM(&small.PublicKey)
	ecPEM := `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49
AwEHoUQDQgAEPR3tU2Fta9ktY+6P9G0cWO+0kCIg8v7jmp6+dxyrQJE5gX/eK/3R
aXlXdGVpSvtP8KMrwHRiAmp5KfQb4oJ93Q==
-----END EC PRIVATE KEY-----`

	priv := func(s string) error { _, err := ParsePrivateKey(s); return err }
	pub := func(s string) error { _, err := ParsePublicKey(s); return err }
	cert := func(s string) error { _, err := ParseCertificate(s); return err }
	for _, tc := range []struct {
		name  string
		parse func(string) error
		text  string
		want  string
	}{
		{"public key as private", priv, pubPEM, "public key where the app private key belongs"},
		{"bare public key as private", priv, pubRaw, "public key where the app private key belongs"},
		{"certificate as private", priv, certPEM, "certificate where the app private key belongs"},
		{"private key as public", pub, privPEM, "private key where a public key belongs"},
		{"certificate as public", pub, certPEM, "certificate where a public key belongs"},
		{"key as certificate", cert, pubPEM, "public key where a certificate belongs"},
		{"empty", priv, "  \n", "empty"},
		{"truncated PEM", priv, privPEM[:len(privPEM)/2], "no END line"},
		{"truncated base64", pub, pubRaw[:len(pubRaw)/2+1], "truncated"},
		{"truncated DER", pub, pubRaw[:len(pubRaw)/2], "truncated"},
		{"not base64", priv, "this is my key!", "neither PEM nor base64"},
		{"short key", priv, string(smallPEM), "1024 bits"},
		{"short public key", pub, string(smallPub), "1024 bits"},
		{"EC key", priv, ecPEM, "not an RSA key"},
		{"encrypted", priv, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n", "password-protected"},
		{"random base64", pub, base64.StdEncoding.EncodeToString([]byte("hello world, not a key")), "not an RSA key"},
	} {
		err := tc.parse(tc.text)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q does not say %q", tc.name, msg, tc.want)
		}
		if !strings.HasPrefix(msg, "alipay: ") {
			t.Errorf("%s: error %q lacks the package prefix", tc.name, msg)
		}
		// No key material in the message.
		if len(msg) > 300 || strings.Contains(msg, "MII") {
			t.Errorf("%s: error quotes key material: %q", tc.name, msg)
		}
	}
}

func TestMarshalPublicKeyBase64(t *testing.T) {
	t.Parallel()
	pub := testPublicKey(t, "app_public.pem")
	got, err := MarshalPublicKeyBase64(pub)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(readTestdata(t, "keys/app_public.raw.txt"))); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func FuzzParseKey(f *testing.F) {
	for _, name := range []string{"app_private_pkcs1.pem", "app_private_pkcs8.raw.txt", "app_public.pem", "alipay_public.raw.txt"} {
		f.Add(string(readTestdata(f, "keys/"+name)))
	}
	f.Add(string(readTestdata(f, "certs/alipayCertPublicKey_RSA2.crt")))
	f.Add("-----BEGIN PUBLIC KEY-----\nMII\n")
	f.Fuzz(func(t *testing.T, text string) {
		// Whatever the input: a key or an error, never a panic, and an
		// error never echoes the input.
		if k, err := ParsePrivateKey(text); err == nil && k.N.BitLen() < MinKeyBits {
			t.Fatalf("accepted a %d-bit key", k.N.BitLen())
		} else if err != nil && len(text) > 20 && strings.Contains(err.Error(), text) {
			t.Fatalf("error echoes the input: %v", err)
		}
		_, _ = ParsePublicKey(text)
		_, _ = ParseCertificate(text)
	})
}
