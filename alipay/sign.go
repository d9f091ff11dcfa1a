package alipay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
)

// SignType is the signature algorithm named by the sign_type parameter.
type SignType string

const (
	// SignTypeRSA2 is SHA256withRSA (RSASSA-PKCS1-v1_5 with SHA-256), the
	// algorithm Alipay requires for new apps and the default everywhere here.
	SignTypeRSA2 SignType = "RSA2"
	// SignTypeRSA is SHA1withRSA, kept for verifying legacy messages.
	SignTypeRSA SignType = "RSA"
)

// ErrSignature reports that a signature did not verify. Errors that wrap it
// say deliberately little about why: a forger learns nothing from them.
var ErrSignature = errors.New("alipay: signature verification failed")

// hash returns the digest algorithm of t; an empty SignType means RSA2.
func (t SignType) hash() (crypto.Hash, error) {
	switch t {
	case SignTypeRSA2, "":
		return crypto.SHA256, nil
	case SignTypeRSA:
		return crypto.SHA1, nil
	}
	return 0, fmt.Errorf("alipay: unsupported sign_type %q (want RSA2 or RSA)", string(t))
}

// appendDigest appends the digest of content to dst. Verify passes a
// buffer on its stack: a returned array slice would escape to the heap.
func appendDigest(dst []byte, h crypto.Hash, content []byte) []byte {
	if h == crypto.SHA1 {
		d := sha1.Sum(content)
		return append(dst, d[:]...)
	}
	d := sha256.Sum256(content)
	return append(dst, d[:]...)
}

// Sign signs content with signer using the algorithm of t and returns the
// standard, padded base64 signature that goes into the sign parameter or
// field. signer is usually an *rsa.PrivateKey, but any crypto.Signer holding
// an RSA key works (a key in a KMS or an HSM).
func Sign(signer crypto.Signer, t SignType, content []byte) (string, error) {
	h, err := t.hash()
	if err != nil {
		return "", err
	}
	sig, err := signer.Sign(rand.Reader, appendDigest(nil, h, content), h)
	if err != nil {
		return "", fmt.Errorf("alipay: signing: %w", err)
	}
	// Encoded on the stack and copied once into the string, where
	// EncodeToString allocates twice. A 4096-bit key's sign has 684
	// characters.
	var buf [1024]byte
	if n := base64.StdEncoding.EncodedLen(len(sig)); n <= len(buf) {
		base64.StdEncoding.Encode(buf[:n], sig)
		return string(buf[:n]), nil
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks that sign is a valid signature of content by key, using the
// algorithm of t. A failure wraps ErrSignature.
func Verify(key *rsa.PublicKey, t SignType, content []byte, sign string) error {
	h, err := t.hash()
	if err != nil {
		return err
	}
	if sign == "" {
		return fmt.Errorf("%w: no sign", ErrSignature)
	}
	var buf [1024]byte
	if base64.StdEncoding.DecodedLen(len(sign)) > len(buf) {
		return fmt.Errorf("%w: sign too long", ErrSignature)
	}
	n, err := base64.StdEncoding.Decode(buf[:], []byte(sign))
	if err != nil {
		return fmt.Errorf("%w: sign is not base64", ErrSignature)
	}
	var d [sha256.Size]byte
	if err := rsa.VerifyPKCS1v15(key, h, appendDigest(d[:0], h, content), buf[:n]); err != nil {
		return ErrSignature
	}
	return nil
}

// RequestStringToSign returns the string an app signs for a gateway request
// and the gateway verifies: every parameter except sign, empty and
// whitespace-only values dropped (the Java SDK's and gateway's rule), sorted
// by key, joined as key=value with &, values raw (not URL-encoded). Only the
// first value of a repeated key counts.
func RequestStringToSign(params url.Values) string {
	var stack [48]param
	ps, _ := formParams(stack[:0], params)
	return string(ps.appendCanonical(nil, false))
}

// NotifyStringToSign returns the string Alipay signs for an async notify or
// a sync return: like [RequestStringToSign] but without sign_type.
func NotifyStringToSign(params url.Values) string {
	var stack [48]param
	ps, _ := formParams(stack[:0], params)
	return string(ps.appendCanonical(nil, true))
}

// SignRequest signs params with the request convention
// ([RequestStringToSign]) and returns the sign value. It does not add sign to
// params.
func SignRequest(signer crypto.Signer, t SignType, params url.Values) (string, error) {
	var stack [48]param
	ps, _ := formParams(stack[:0], params)
	return Sign(signer, t, ps.appendCanonical(nil, false))
}

// SignNotify signs params with the notify and return convention
// ([NotifyStringToSign]) and returns the sign value. The sandbox uses it to
// sign notifies and returns as Alipay does.
func SignNotify(signer crypto.Signer, t SignType, params url.Values) (string, error) {
	var stack [48]param
	ps, _ := formParams(stack[:0], params)
	return Sign(signer, t, ps.appendCanonical(nil, true))
}

// VerifyRequest verifies the sign of a gateway request (what Alipay's
// gateway does with an app's request) using the sign_type it names. A
// failure wraps ErrSignature.
func VerifyRequest(key *rsa.PublicKey, params url.Values) error {
	var stack [48]param
	ps, sign := formParams(stack[:0], params)
	return Verify(key, SignType(params.Get("sign_type")), ps.appendCanonical(nil, false), sign)
}

// VerifyNotify verifies the sign of an async notify or a sync return: the
// string without sign and sign_type first (trade notifies and returns), then,
// as Alipay's SDKs do, with sign_type included (the convention of some
// non-trade messages). sign_type picks the algorithm; absent means RSA2. A
// failure wraps ErrSignature.
func VerifyNotify(key *rsa.PublicKey, params url.Values) error {
	var stack [48]param
	ps, sign := formParams(stack[:0], params)
	return verifyNotify(key, ps, params.Get("sign_type"), sign)
}

// verifyNotify is VerifyNotify over the parameters as formParams returns
// them.
func verifyNotify(key *rsa.PublicKey, ps signedParams, signType, sign string) error {
	t := SignType(signType)
	var stack [2048]byte
	content := ps.appendCanonical(stack[:0], true)
	err := Verify(key, t, content, sign)
	if err == nil || !errors.Is(err, ErrSignature) || signType == "" {
		return err
	}
	return Verify(key, t, ps.appendCanonical(content[:0], false), sign)
}

// formParams appends to dst the first value of every parameter of form
// except sign, blank values included, and sorts them by key; it returns the
// sign apart. The canonical string leaves the blank values out; a notify's
// fields keep them.
func formParams(dst signedParams, form url.Values) (ps signedParams, sign string) {
	ps = dst
	for k, vs := range form {
		switch {
		case len(vs) == 0:
		case k == "sign":
			sign = vs[0]
		default:
			ps = append(ps, param{k, vs[0]})
		}
	}
	ps.sort()
	return ps, sign
}

// isBlank reports whether s is empty or only ASCII white space, the values
// the Java SDK (and so the gateway) leaves out of the string to sign.
func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
		default:
			return false
		}
	}
	return true
}
