package alipay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// MinKeyBits is the smallest RSA modulus the package accepts. Alipay issues
// and requires 2048-bit keys for RSA2.
const MinKeyBits = 2048

// keyKind names what a blob of key material turned out to be, so that an
// error can say "you gave me X where Y belongs".
type keyKind int

const (
	kindUnknown keyKind = iota
	kindPrivateKey
	kindPublicKey
	kindCertificate
	kindEncryptedKey
)

func (k keyKind) String() string {
	switch k {
	case kindPrivateKey:
		return "a private key"
	case kindPublicKey:
		return "a public key"
	case kindCertificate:
		return "a certificate"
	case kindEncryptedKey:
		return "an encrypted private key"
	}
	return "unrecognised data"
}

// parsedKey is the result of reading key text in any of the forms users hold.
type parsedKey struct {
	kind keyKind
	priv *rsa.PrivateKey
	pub  *rsa.PublicKey
	cert *x509.Certificate
}

// ParsePrivateKey parses an RSA private key in every form Alipay users hold:
// PEM "RSA PRIVATE KEY" (PKCS#1), PEM "PRIVATE KEY" (PKCS#8), or the bare
// base64 of either DER encoding on one or several lines, as Alipay's key tool
// prints it. Errors name the mistake (a public key or a certificate where the
// private key belongs, truncated text, a key that is too short) and never
// quote the key material.
func ParsePrivateKey(text string) (*rsa.PrivateKey, error) {
	k, err := parseKeyText(text)
	if err != nil {
		return nil, err
	}
	switch k.kind {
	case kindPrivateKey:
		return k.priv, nil
	case kindPublicKey:
		return nil, errors.New("alipay: this is a public key where the app private key belongs; use the private half of the pair (app_private_key.pem)")
	case kindCertificate:
		return nil, errors.New("alipay: this is a certificate where the app private key belongs; certificates hold only public keys")
	case kindEncryptedKey:
		return nil, errors.New("alipay: the private key is password-protected; decrypt it first (openssl pkcs8 -in key.pem -out plain.pem)")
	}
	return nil, errors.New("alipay: not an RSA private key")
}

// ParsePublicKey parses an RSA public key: PEM "PUBLIC KEY" (SPKI, what
// Alipay's console hands out once armoured), PEM "RSA PUBLIC KEY" (PKCS#1), or
// the bare base64 of either DER encoding. A private key or a certificate is
// refused with an error that says so.
func ParsePublicKey(text string) (*rsa.PublicKey, error) {
	k, err := parseKeyText(text)
	if err != nil {
		return nil, err
	}
	switch k.kind {
	case kindPublicKey:
		return k.pub, nil
	case kindPrivateKey, kindEncryptedKey:
		return nil, errors.New("alipay: this is a private key where a public key belongs; never hand out or configure a private key as a public key")
	case kindCertificate:
		return nil, errors.New("alipay: this is a certificate where a public key belongs; in certificate mode configure the certificate files instead of the public key")
	}
	return nil, errors.New("alipay: not an RSA public key")
}

// ParseCertificate parses one X.509 certificate holding an RSA public key,
// as PEM or bare base64 DER. A key where the certificate belongs is refused
// with an error that says so.
func ParseCertificate(text string) (*x509.Certificate, error) {
	k, err := parseKeyText(text)
	if err != nil {
		return nil, err
	}
	if k.kind != kindCertificate {
		return nil, fmt.Errorf("alipay: this is %s where a certificate belongs", k.kind)
	}
	return k.cert, nil
}

// parseKeyText decodes PEM or bare base64 and works out what the DER holds.
func parseKeyText(text string) (parsedKey, error) {
	der, pemType, err := decodeKeyText(text)
	if err != nil {
		return parsedKey{}, err
	}
	k, err := parseKeyDER(der, pemType)
	if err != nil {
		return parsedKey{}, err
	}
	switch {
	case k.priv != nil:
		err = checkKeySize(k.priv.N.BitLen())
	case k.pub != nil:
		err = checkKeySize(k.pub.N.BitLen())
	}
	return k, err
}

func checkKeySize(bits int) error {
	if bits < MinKeyBits {
		return fmt.Errorf("alipay: the RSA key has %d bits; Alipay requires at least %d (generate a new pair with `zhifu keys generate`)", bits, MinKeyBits)
	}
	return nil
}

// decodeKeyText returns the DER bytes of PEM or bare base64 text, and the PEM
// block type when there was one.
func decodeKeyText(text string) (der []byte, pemType string, err error) {
	// Keys pasted into environment variables or JSON often carry literal "\n".
	if strings.Contains(text, `\n`) && !strings.Contains(text, "\n") {
		text = strings.ReplaceAll(text, `\n`, "\n")
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, "", errors.New("alipay: the key is empty")
	}
	if strings.Contains(text, "-----BEGIN") {
		block, _ := pem.Decode([]byte(text))
		if block == nil {
			if !strings.Contains(text, "-----END") {
				return nil, "", errors.New("alipay: the PEM text has a BEGIN line but no END line; the key was truncated when copied")
			}
			return nil, "", errors.New("alipay: the PEM text is malformed (bad base64 between the BEGIN and END lines?)")
		}
		return block.Bytes, block.Type, nil
	}
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, text)
	if i := strings.IndexFunc(compact, func(r rune) bool { return !isBase64Char(r) }); i >= 0 {
		return nil, "", fmt.Errorf("alipay: the key is neither PEM nor base64: unexpected character at position %d", i)
	}
	der, err = base64.StdEncoding.DecodeString(compact)
	if err != nil {
		der, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(compact, "="))
		if err != nil {
			return nil, "", errors.New("alipay: the key's base64 is incomplete; it was probably truncated when copied")
		}
	}
	return der, "", nil
}

func isBase64Char(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '='
}

// parseKeyDER tries the encodings a key or certificate may have.
func parseKeyDER(der []byte, pemType string) (parsedKey, error) {
	switch pemType {
	case "ENCRYPTED PRIVATE KEY":
		return parsedKey{kind: kindEncryptedKey}, nil
	case "", "RSA PRIVATE KEY", "PRIVATE KEY", "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
	default:
		return parsedKey{}, fmt.Errorf("alipay: the PEM block is a %q, not an RSA key or certificate", pemType)
	}
	if priv, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return parsedKey{kind: kindPrivateKey, priv: priv}, nil
	}
	if key, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		priv, ok := key.(*rsa.PrivateKey)
		if !ok {
			return parsedKey{}, fmt.Errorf("alipay: the private key is %T, not RSA; Alipay's RSA2 needs an RSA key", key)
		}
		return parsedKey{kind: kindPrivateKey, priv: priv}, nil
	}
	if key, err := x509.ParsePKIXPublicKey(der); err == nil {
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return parsedKey{}, fmt.Errorf("alipay: the public key is %T, not RSA", key)
		}
		return parsedKey{kind: kindPublicKey, pub: pub}, nil
	}
	if pub, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return parsedKey{kind: kindPublicKey, pub: pub}, nil
	}
	if cert, err := x509.ParseCertificate(der); err == nil {
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return parsedKey{}, fmt.Errorf("alipay: the certificate holds a %T key, not RSA", cert.PublicKey)
		}
		if err := checkKeySize(pub.N.BitLen()); err != nil {
			return parsedKey{}, err
		}
		return parsedKey{kind: kindCertificate, cert: cert, pub: pub}, nil
	}
	// Nothing parsed: tell a truncated key from something else entirely.
	if len(der) > 0 && der[0] == 0x30 {
		return parsedKey{}, errors.New("alipay: the key data is truncated or corrupt (it starts like a key but does not parse)")
	}
	return parsedKey{}, errors.New("alipay: the data is not an RSA key or certificate in any known encoding")
}

// samePublicKey reports whether two RSA public keys are equal.
func samePublicKey(a, b *rsa.PublicKey) bool {
	return a.E == b.E && a.N.Cmp(b.N) == 0
}

// MarshalPublicKeyBase64 returns the bare base64 of the SPKI DER encoding of
// key: the one-line form that Alipay's console asks for when you upload the
// app public key.
func MarshalPublicKeyBase64(key *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return "", fmt.Errorf("alipay: encoding public key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// MarshalPublicKeyPEM returns key as a PEM "PUBLIC KEY" (SPKI) block.
func MarshalPublicKeyPEM(key *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("alipay: encoding public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// MarshalPrivateKeyPEM returns key as a PEM "PRIVATE KEY" (PKCS#8) block, the
// encoding Alipay's Java SDK expects.
func MarshalPrivateKeyPEM(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("alipay: encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
