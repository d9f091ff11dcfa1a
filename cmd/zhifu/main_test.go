package main

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"zhifu/alipay"
)

// TestBinary builds zhifu and runs it as a real process: keys generate,
// sign with the generated key, verify the result, and an exit code.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	goTool, err := exec.LookPath("go") // go test puts its own go first in PATH
	if err != nil {
		t.Skip("no go command in PATH to build zhifu with")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "zhifu")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	zhifu := func(stdin string, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Stdin = strings.NewReader(stdin)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			code = exit.ExitCode()
		case err != nil:
			t.Fatalf("running zhifu %v: %v", args, err)
		}
		return o.String(), e.String(), code
	}

	keys := filepath.Join(dir, "keys")
	pubBase64, stderr, code := zhifu("", "keys", "generate", "--out", keys)
	if code != 0 {
		t.Fatalf("zhifu keys generate: exit %d\n%s", code, stderr)
	}
	pubPEM, err := os.ReadFile(filepath.Join(keys, "app_public_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := alipay.ParsePublicKey(string(pubPEM))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := alipay.MarshalPublicKeyBase64(pub); pubBase64 != want+"\n" {
		t.Errorf("keys generate printed %q, want the public key %q", pubBase64, want)
	}

	params := url.Values{
		"app_id":      {"2021000000000001"},
		"method":      {"alipay.trade.query"},
		"charset":     {"utf-8"},
		"sign_type":   {"RSA2"},
		"timestamp":   {"2024-05-20 12:34:56"},
		"version":     {"1.0"},
		"biz_content": {`{"out_trade_no":"ORDER_20240520_0001"}`},
	}
	sign, stderr, code := zhifu(params.Encode()+"\n", "sign", "--private-key", filepath.Join(keys, "app_private_key.pem"))
	if code != 0 {
		t.Fatalf("zhifu sign: exit %d\n%s", code, stderr)
	}
	sign = strings.TrimSuffix(sign, "\n")
	if err := alipay.Verify(pub, alipay.SignTypeRSA2, []byte(alipay.RequestStringToSign(params)), sign); err != nil {
		t.Errorf("zhifu sign printed %q, which does not verify: %v", sign, err)
	}

	params.Set("sign", sign)
	out, stderr, code := zhifu(params.Encode(), "verify", "--public-key", filepath.Join(keys, "app_public_key.pem"))
	if code != 0 || !strings.HasPrefix(out, "signature OK (gateway request alipay.trade.query") {
		t.Errorf("zhifu verify: exit %d\n%s%s", code, out, stderr)
	}

	if _, _, code := zhifu("", "no-such-command"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}
