package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"zhifu/alipay"
)

// File names keys generate writes.
const (
	privateKeyFile = "app_private_key.pem"
	publicKeyFile  = "app_public_key.pem"
)

// maxKeyBits bounds --bits: Alipay's console uses 2048, and larger keys
// only make generation slow.
const maxKeyBits = 4096

func keysCommand() *command {
	return &command{
		name:    "keys",
		summary: "generate an app key pair; convert keys between PKCS#1, PKCS#8, PEM and base64",
		sub: []*command{
			{name: "generate", summary: "generate a new app RSA key pair and print the public key for Alipay's console", run: runKeysGenerate},
			{name: "convert", summary: "convert a key: PKCS#1 ↔ PKCS#8, PEM ↔ bare base64, private → public", run: runKeysConvert},
		},
	}
}

func runKeysGenerate(_ context.Context, s *streams, args []string) int {
	f := newFlagSet("zhifu keys generate", `
Usage: zhifu keys generate --out DIR [--bits 2048]

Generates a new app RSA key pair for Alipay's public-key mode (公钥模式) and writes
  DIR/app_private_key.pem  the private key, PKCS#8 PEM, mode 0600: keep it on your server, never share it
  DIR/app_public_key.pem   the public key, SPKI PEM
DIR is created with mode 0700 if it does not exist. Existing key files are
never overwritten.

Then prints on stdout the public key as the single line of base64 that
Alipay's console asks for (开放平台 → 开发设置 → 接口加签方式 → 公钥); the
messages around it go to stderr. The private key is never printed.`)
	out := f.String("out", "", "write the key files into `DIR` (required)")
	bits := f.Int("bits", 2048, "RSA key size in `BITS`; Alipay uses 2048; smaller keys are refused")
	if code, done := f.parse(s, args); done {
		return code
	}
	switch {
	case *out == "":
		return f.usageError(s, "--out DIR is required: the directory to write %s and %s into", privateKeyFile, publicKeyFile)
	case *bits < alipay.MinKeyBits:
		return f.usageError(s, "--bits %d is too small: Alipay requires RSA keys of at least %d bits", *bits, alipay.MinKeyBits)
	case *bits > maxKeyBits:
		return f.usageError(s, "--bits %d is too large: zhifu generates up to %d bits (Alipay uses %d)", *bits, maxKeyBits, alipay.MinKeyBits)
	}

	privPath := filepath.Join(*out, privateKeyFile)
	pubPath := filepath.Join(*out, publicKeyFile)
	var existing []string
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			existing = append(existing, p)
		}
	}
	if len(existing) > 0 {
		fmt.Fprintf(s.stderr, "zhifu keys generate: %s already exists; refusing to overwrite a key that may be in use.\nChoose another --out directory, or move the old files away first.\n", strings.Join(existing, " and "))
		return exitFail
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		fmt.Fprintf(s.stderr, "zhifu keys generate: %v\n", err)
		return exitFail
	}

	key, err := rsa.GenerateKey(rand.Reader, *bits)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu keys generate: generating the key: %v\n", err)
		return exitFail
	}
	privPEM, err := alipay.MarshalPrivateKeyPEM(key)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu keys generate: %v\n", err)
		return exitFail
	}
	pubPEM, err := alipay.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu keys generate: %v\n", err)
		return exitFail
	}
	pubBase64, err := alipay.MarshalPublicKeyBase64(&key.PublicKey)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu keys generate: %v\n", err)
		return exitFail
	}
	if err := writeNewFile(privPath, privPEM, 0o600); err != nil {
		fmt.Fprintf(s.stderr, "zhifu keys generate: %v\n", err)
		return exitFail
	}
	if err := writeNewFile(pubPath, pubPEM, 0o644); err != nil {
		// Leave no private key behind without its public half.
		os.Remove(privPath)
		fmt.Fprintf(s.stderr, "zhifu keys generate: %v\n", err)
		return exitFail
	}

	fmt.Fprintf(s.stderr, `Wrote %s (PKCS#8, mode 0600): your app signs with it. Keep it secret; never commit it.
Wrote %s.

Paste this app public key into 开放平台 → 开发设置 → 接口加签方式 (公钥),
then copy the Alipay public key (支付宝公钥) shown there: it verifies notifies and responses.
`, privPath, pubPath)
	fmt.Fprintln(s.stdout, pubBase64)
	return exitOK
}

// Forms keys convert writes.
const (
	toPKCS8        = "pkcs8"
	toPKCS1        = "pkcs1"
	toBase64       = "base64"
	toPublic       = "public"
	toPublicBase64 = "public-base64"
)

func runKeysConvert(_ context.Context, s *streams, args []string) int {
	f := newFlagSet("zhifu keys convert", `
Usage: zhifu keys convert --in FILE --to FORM [--out FILE]

Reads a key in any form (PEM or bare base64; PKCS#1 or PKCS#8 private key,
SPKI public key, or a certificate) and writes it as FORM:
  pkcs8          private key as PEM "PRIVATE KEY" (PKCS#8): the Java SDK and most libraries
  pkcs1          private key as PEM "RSA PRIVATE KEY" (PKCS#1): Alipay's key tool, the Node SDK, PHP
  base64         the key on one line of base64 without PEM armour: a private key as
                 PKCS#8 DER (the Java SDK's privateKey string), a public key or
                 certificate as its public key's SPKI DER
  public         the public half as PEM "PUBLIC KEY" (SPKI)
  public-base64  the public half on one line of base64: what Alipay's console asks
                 for (开放平台 → 开发设置 → 接口加签方式 → 公钥)

Public output goes to stdout, or to --out FILE. Private output (pkcs8, pkcs1,
base64 of a private key) is only written to --out FILE, created with mode 0600;
to print it on stdout anyway, say so with --out -. An existing --out file is
never overwritten.`)
	in := f.String("in", "", "read the key from `FILE` (- for stdin)")
	to := f.String("to", "", "output `FORM`: pkcs8, pkcs1, base64, public or public-base64")
	out := f.String("out", "", "write to `FILE` instead of stdout (- for stdout, required for private output)")
	if code, done := f.parse(s, args); done {
		return code
	}
	switch *to {
	case toPKCS8, toPKCS1, toBase64, toPublic, toPublicBase64:
	case "":
		return f.usageError(s, "--to is required: pkcs8, pkcs1, base64, public or public-base64")
	default:
		return f.usageError(s, "--to %q: want pkcs8, pkcs1, base64, public or public-base64", *to)
	}
	if *in == "" {
		return f.usageError(s, "--in FILE is required: the key to convert (- for stdin)")
	}
	key, err := readAnyKey(s, *in)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu keys convert: %v\n", err)
		return exitFail
	}
	data, private, err := convertKey(key, *to)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu keys convert: %v\n", err)
		return exitFail
	}
	switch {
	case *out == "-" || *out == "" && !private:
		s.stdout.Write(data)
		return exitOK
	case *out == "":
		fmt.Fprintf(s.stderr, "zhifu keys convert: --to %s writes a private key; give --out FILE (written with mode 0600), or --out - to print it on stdout anyway\n", *to)
		return exitUsage
	}
	perm := fs.FileMode(0o644)
	if private {
		perm = 0o600
	}
	if err := writeNewFile(*out, data, perm); err != nil {
		fmt.Fprintf(s.stderr, "zhifu keys convert: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(s.stderr, "Wrote %s (%s, mode %#o).\n", *out, *to, perm)
	return exitOK
}

// convertKey encodes key as form and reports whether the result holds a
// private key.
func convertKey(key *keyFile, form string) (data []byte, private bool, err error) {
	switch form {
	case toPKCS8, toPKCS1:
		if key.priv == nil {
			return nil, false, fmt.Errorf("%s holds a %s: --to %s needs a private key, and a private key cannot be made from a public one; for the public key use --to public or --to public-base64", key.path, key.kind, form)
		}
		if form == toPKCS8 {
			data, err = alipay.MarshalPrivateKeyPEM(key.priv)
			return data, true, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key.priv)}), true, nil
	case toBase64:
		if key.priv != nil {
			der, err := x509.MarshalPKCS8PrivateKey(key.priv)
			if err != nil {
				return nil, false, fmt.Errorf("encoding the private key: %w", err)
			}
			return []byte(base64.StdEncoding.EncodeToString(der) + "\n"), true, nil
		}
		fallthrough
	case toPublicBase64:
		b64, err := alipay.MarshalPublicKeyBase64(key.pub)
		return []byte(b64 + "\n"), false, err
	case toPublic:
		data, err = alipay.MarshalPublicKeyPEM(key.pub)
		return data, false, err
	}
	return nil, false, fmt.Errorf("unknown form %q", form)
}

// writeNewFile writes data to a new file at path with mode perm; it never
// replaces an existing file.
func writeNewFile(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; refusing to overwrite it (choose another name or move it away first)", path)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
