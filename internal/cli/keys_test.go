package cli

import (
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zhifu/alipay"
)

func TestKeysGenerate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys") // does not exist yet
	r := run(t, "", "keys", "generate", "--out", dir)
	if r.code != 0 {
		t.Fatalf("keys generate: %v", r)
	}

	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("created directory: %v, mode %v; want mode 0700", err, fi.Mode().Perm())
	}
	privPath, pubPath := filepath.Join(dir, privateKeyFile), filepath.Join(dir, publicKeyFile)
	if fi, err := os.Stat(privPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v; want mode 0600", privPath, err, fi.Mode().Perm())
	}
	privPEM, err := os.ReadFile(privPath)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(privPEM); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("private key file is not a PKCS#8 PEM")
	}
	if block, _ := pem.Decode(pubPEM); block == nil || block.Type != "PUBLIC KEY" {
		t.Errorf("public key file is not an SPKI PEM")
	}
	priv, err := alipay.ParsePrivateKey(string(privPEM))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := alipay.ParsePublicKey(string(pubPEM))
	if err != nil {
		t.Fatal(err)
	}
	if !priv.PublicKey.Equal(pub) {
		t.Errorf("the public key file does not hold the private key's public half")
	}
	if priv.N.BitLen() != 2048 {
		t.Errorf("key has %d bits, want 2048", priv.N.BitLen())
	}
	want, err := alipay.MarshalPublicKeyBase64(pub)
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != want+"\n" {
		t.Errorf("stdout = %q, want the public key's SPKI base64 %q alone", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "开放平台 → 开发设置 → 接口加签方式") {
		t.Errorf("stderr does not say where the key goes:\n%s", r.stderr)
	}
	checkNoSecret(t, r, privPEM)

	// Run again: nothing is overwritten.
	again := run(t, "", "keys", "generate", "--out", dir)
	if again.code != 1 || !strings.Contains(again.stderr, privPath) || !strings.Contains(again.stderr, "another --out") {
		t.Errorf("second generate into the same directory: %v", again)
	}
	if b, _ := os.ReadFile(privPath); string(b) != string(privPEM) {
		t.Errorf("the private key file was overwritten")
	}
}

// checkNoSecret fails if any line of the private key's PEM body appears in
// the output.
func checkNoSecret(t *testing.T, r result, privPEM []byte) {
	t.Helper()
	if strings.Contains(r.stdout+r.stderr, "PRIVATE KEY") {
		t.Errorf("output mentions a PEM private key:\n%v", r)
	}
	for _, line := range strings.Split(string(privPEM), "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(r.stdout+r.stderr, line) {
			t.Errorf("output contains private key material")
			return
		}
	}
}

func TestKeysGenerateRefuses(t *testing.T) {
	t.Parallel()
	t.Run("existing public key", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, publicKeyFile), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := run(t, "", "keys", "generate", "--out", dir)
		if r.code != 1 || !strings.Contains(r.stderr, publicKeyFile) || r.stdout != "" {
			t.Errorf("generate over an existing public key: %v", r)
		}
		if _, err := os.Stat(filepath.Join(dir, privateKeyFile)); err == nil {
			t.Errorf("a private key was written although the command refused")
		}
	})
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no --out", nil, "--out DIR is required"},
		{"1024 bits", []string{"--bits", "1024"}, "--bits 1024 is too small"},
		{"huge", []string{"--bits", "16384"}, "too large"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "k")
			args := []string{"keys", "generate"}
			if tt.name != "no --out" {
				args = append(args, "--out", dir)
			}
			r := run(t, "", append(args, tt.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%v", r)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("the refused command created %s", dir)
			}
		})
	}
}

func TestKeysConvert(t *testing.T) {
	t.Parallel()
	appPubBase64 := strings.TrimSpace(string(readTestdata(t, "keys/app_public.raw.txt")))
	alipayPubBase64 := strings.TrimSpace(string(readTestdata(t, "keys/alipay_public.raw.txt")))
	appPriv, err := alipay.ParsePrivateKey(string(readTestdata(t, "keys/app_private_pkcs1.pem")))
	if err != nil {
		t.Fatal(err)
	}
	privateInputs := []string{"app_private_pkcs1.pem", "app_private_pkcs8.pem", "app_private_pkcs1.raw.txt", "app_private_pkcs8.raw.txt"}

	for _, in := range privateInputs {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, to := range []struct{ form, pemType string }{{"pkcs8", "PRIVATE KEY"}, {"pkcs1", "RSA PRIVATE KEY"}, {"base64", ""}} {
				out := filepath.Join(dir, to.form)
				r := run(t, "", "keys", "convert", "--in", keyPath(in), "--to", to.form, "--out", out)
				if r.code != 0 || r.stdout != "" {
					t.Fatalf("--to %s: %v", to.form, r)
				}
				fi, err := os.Stat(out)
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("--to %s: %v, mode %v; want 0600", to.form, err, fi.Mode().Perm())
				}
				b, _ := os.ReadFile(out)
				if block, _ := pem.Decode(b); to.pemType != "" && (block == nil || block.Type != to.pemType) {
					t.Errorf("--to %s: not a %q PEM", to.form, to.pemType)
				}
				if to.pemType == "" && strings.Count(string(b), "\n") != 1 {
					t.Errorf("--to base64: want one line, got %q", b)
				}
				got, err := alipay.ParsePrivateKey(string(b))
				if err != nil || !got.Equal(appPriv) {
					t.Errorf("--to %s: does not hold the same key (%v)", to.form, err)
				}
			}

			// Public output goes to stdout.
			r := run(t, "", "keys", "convert", "--in", keyPath(in), "--to", "public-base64")
			if r.code != 0 || r.stdout != appPubBase64+"\n" {
				t.Errorf("--to public-base64: %v", r)
			}
			r = run(t, "", "keys", "convert", "--in", keyPath(in), "--to", "public")
			if pub, err := alipay.ParsePublicKey(r.stdout); r.code != 0 || err != nil || !pub.Equal(&appPriv.PublicKey) {
				t.Errorf("--to public: %v (%v)", r, err)
			}

			// Private output is not printed unless asked for with --out -.
			r = run(t, "", "keys", "convert", "--in", keyPath(in), "--to", "pkcs8")
			if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "--out -") {
				t.Errorf("--to pkcs8 without --out: %v", r)
			}
			r = run(t, "", "keys", "convert", "--in", keyPath(in), "--to", "pkcs8", "--out", "-")
			if got, err := alipay.ParsePrivateKey(r.stdout); r.code != 0 || err != nil || !got.Equal(appPriv) {
				t.Errorf("--to pkcs8 --out -: exit %d, %v", r.code, err)
			}
		})
	}

	for _, tt := range []struct {
		in, to string
		code   int
		stdout string
		stderr string
	}{
		{in: "app_public.pem", to: "base64", stdout: appPubBase64 + "\n"},
		{in: "app_public.raw.txt", to: "public-base64", stdout: appPubBase64 + "\n"},
		{in: "../certs/alipayCertPublicKey_RSA2.crt", to: "public-base64", stdout: alipayPubBase64 + "\n"},
		{in: "app_public.pem", to: "pkcs8", code: 1, stderr: "needs a private key"},
		{in: "app_public.pem", to: "pem", code: 2, stderr: `--to "pem"`},
		{in: "no_such_file.pem", to: "public", code: 1, stderr: "no_such_file.pem"},
	} {
		t.Run(tt.in+" to "+tt.to, func(t *testing.T) {
			t.Parallel()
			r := run(t, "", "keys", "convert", "--in", keyPath(tt.in), "--to", tt.to)
			if r.code != tt.code || r.stdout != tt.stdout || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("%v", r)
			}
		})
	}

	t.Run("stdin and existing --out", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "pub.pem")
		if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := run(t, string(readTestdata(t, "keys/app_private_pkcs1.pem")), "keys", "convert", "--in", "-", "--to", "public", "--out", out)
		if r.code != 1 || !strings.Contains(r.stderr, "already exists") {
			t.Errorf("%v", r)
		}
		if b, _ := os.ReadFile(out); string(b) != "old" {
			t.Errorf("existing file overwritten")
		}
		out = filepath.Join(filepath.Dir(out), "new.pem")
		r = run(t, string(readTestdata(t, "keys/app_private_pkcs1.pem")), "keys", "convert", "--in", "-", "--to", "public", "--out", out)
		if fi, err := os.Stat(out); r.code != 0 || err != nil || fi.Mode().Perm()&fs.FileMode(0o133) != 0 {
			t.Errorf("%v (%v)", r, err)
		}
	})
}
