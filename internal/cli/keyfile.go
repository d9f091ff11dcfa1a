package cli

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"os"

	"zhifu/alipay"
)

// maxKeyFile bounds a key or certificate file: real ones are a few KB.
const maxKeyFile = 1 << 20

// keyKind is what a key file turned out to hold.
type keyKind int

const (
	kindPrivate keyKind = iota + 1
	kindPublic
	kindCertificate
)

func (k keyKind) String() string {
	switch k {
	case kindPrivate:
		return "private key"
	case kindPublic:
		return "public key"
	case kindCertificate:
		return "certificate"
	}
	return "unknown"
}

// keyFile is an RSA key read from a file in any form users hold: PEM or
// bare base64; PKCS#1 or PKCS#8 private key, SPKI or PKCS#1 public key, or
// an X.509 certificate.
type keyFile struct {
	path string
	kind keyKind
	priv *rsa.PrivateKey   // kindPrivate only
	pub  *rsa.PublicKey    // always: the key itself, the private key's public half, or the certificate's key
	cert *x509.Certificate // kindCertificate only
}

// readKeyText returns the text of the key file at path; "-" reads stdin.
func readKeyText(s *streams, path string) (string, error) {
	var r io.Reader
	if path == "-" {
		r, path = s.stdin, "stdin"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return "", fmt.Errorf("%s is larger than %d bytes: not a key file", path, maxKeyFile)
	}
	return string(b), nil
}

// readPrivateKey reads the private key at path ("-": stdin). Errors name
// the file and the mistake, never the key material.
func readPrivateKey(s *streams, path string) (*rsa.PrivateKey, error) {
	text, err := readKeyText(s, path)
	if err != nil {
		return nil, err
	}
	key, err := alipay.ParsePrivateKey(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// readAnyKey reads a private key, public key or certificate at path
// ("-": stdin).
func readAnyKey(s *streams, path string) (*keyFile, error) {
	text, err := readKeyText(s, path)
	if err != nil {
		return nil, err
	}
	return parseAnyKey(path, text)
}

// parseAnyKey reads text, the content of the key file named path, as a
// private key, a public key or a certificate.
func parseAnyKey(path, text string) (*keyFile, error) {
	k := &keyFile{path: path}
	priv, errPriv := alipay.ParsePrivateKey(text)
	if errPriv == nil {
		k.kind, k.priv, k.pub = kindPrivate, priv, &priv.PublicKey
		return k, nil
	}
	if pub, err := alipay.ParsePublicKey(text); err == nil {
		k.kind, k.pub = kindPublic, pub
		return k, nil
	}
	if cert, err := alipay.ParseCertificate(text); err == nil {
		k.kind, k.cert, k.pub = kindCertificate, cert, cert.PublicKey.(*rsa.PublicKey)
		return k, nil
	}
	// Nothing fits. The private key parser's error names problems of the
	// text itself (truncated, encrypted, not RSA), which is what is left.
	return nil, fmt.Errorf("%s: %w", path, errPriv)
}

// describe is "public key (RSA-2048) from PATH".
func (k *keyFile) describe() string {
	return fmt.Sprintf("%s (RSA-%d) from %s", k.kind, k.pub.N.BitLen(), k.path)
}
