package cli

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"

	"zhifu/alipay"
)

// signer is who signs a kind of message, and so whose public key verifies it.
type signer int

const (
	signerUnknown signer = iota
	signerAlipay         // notifies, returns, responses
	signerApp            // gateway requests
)

// check is one message whose signature verify checks and, when it does not
// hold, explains.
type check struct {
	what     string          // "async notify trade_status_sync", "alipay_trade_query_response, code 10000"
	signer   signer          // whose key signs this kind of message
	sign     string          // the sign as received
	alg      alipay.SignType // the algorithm verifiers use for it
	algFrom  string          // why that algorithm
	response bool            // a JSON API response rather than a form
	notes    []string        // observations printed whatever the verdict
	// unsigned, when set, says why the message has no signature to check.
	unsigned string
	// verify is the SDK's verdict on the message, the one that counts.
	verify func(*keyFile) error
	// accepted are the contents a signature is accepted over, in the order
	// the SDK tries them; mistakes are contents produced by known mistakes,
	// tried only to explain a failure. Labels describe the content
	// (accepted) or the mistake (mistakes).
	accepted, mistakes []candidate
}

// content is what the signed content of the message is called.
func (c *check) content() string {
	if c.response {
		return "Signed content"
	}
	return "String-to-sign"
}

// candidate is content a signature may have been made over.
type candidate struct {
	label   string
	content string
}

// accept adds content the SDK accepts a signature over.
func (c *check) accept(label, content string) {
	if !c.has(content) {
		c.accepted = append(c.accepted, candidate{label, content})
	}
}

// mistake adds content that a known mistake produces.
func (c *check) mistake(label, content string) {
	if !c.has(content) {
		c.mistakes = append(c.mistakes, candidate{label, content})
	}
}

func (c *check) has(content string) bool {
	for _, cand := range slices.Concat(c.accepted, c.mistakes) {
		if cand.content == content {
			return true
		}
	}
	return false
}

// run verifies the message with key, reports the verdict and returns the
// exit code.
func (c *check) run(s *streams, key *keyFile, verbose bool) int {
	if key.kind == kindPrivate {
		fmt.Fprintf(s.stderr, "warning: %s holds a private key; zhifu verified with its public half. Verifying needs only the public key: keep private keys out of verifier configs (zhifu keys convert --in %s --to public).\n", key.path, key.path)
	}
	if c.unsigned != "" {
		c.printNotes(s)
		fmt.Fprintf(s.stderr, "zhifu verify: no signature (%s): %s\n", c.what, c.unsigned)
		return exitFail
	}
	err := c.verify(key)
	if err != nil && !errors.Is(err, alipay.ErrSignature) {
		fmt.Fprintf(s.stderr, "zhifu verify: %v\n", err)
		return exitFail
	}
	if err == nil {
		c.printNotes(s)
		matched := c.accepted[0]
		for _, cand := range c.accepted {
			if alipay.Verify(key.pub, c.alg, []byte(cand.content), c.sign) == nil {
				matched = cand
				break
			}
		}
		if verbose {
			fmt.Fprintf(s.stderr, "%s (%s):\n%s\n", c.content(), matched.label, matched.content)
		}
		fmt.Fprintf(s.stdout, "signature OK (%s; %s; %s)\n", c.what, matched.label, c.alg)
		return exitOK
	}

	w := s.stderr
	fmt.Fprintf(w, "zhifu verify: the signature does NOT verify.\n")
	fmt.Fprintf(w, "  message:   %s\n", c.what)
	fmt.Fprintf(w, "  algorithm: %s, %s\n", describeAlg(c.alg), c.algFrom)
	fmt.Fprintf(w, "  key:       %s\n", key.describe())
	fmt.Fprintf(w, "%s used (%s):\n%s\n", c.content(), c.accepted[0].label, c.accepted[0].content)
	for _, cand := range c.accepted[1:] {
		fmt.Fprintf(w, "Also tried, as the SDK does: %s.\n", cand.label)
	}
	fmt.Fprintf(w, "Likely cause:\n")
	// Notes name definite anomalies, so they come before the diagnosis.
	for _, cause := range slices.Concat(c.notes, c.diagnose(key)) {
		fmt.Fprintf(w, "  * %s\n", cause)
	}
	return exitFail
}

func (c *check) printNotes(s *streams) {
	for _, n := range c.notes {
		fmt.Fprintf(s.stderr, "note: %s\n", n)
	}
}

// diagnose explains why the signature does not verify. It undoes the RSA
// operation with the public key: a well-formed PKCS#1 v1.5 block proves the
// key's private half made the signature and reveals the hash algorithm and
// the digest signed, which then identifies the content among the
// candidates; garbage means another key made it.
func (c *check) diagnose(key *keyFile) []string {
	sig, causes, ok := decodeSign(c.sign)
	if !ok {
		return causes
	}
	rec := recoverSignature(key.pub, sig)
	switch rec.status {
	case recoveredWrongLength:
		return append(causes, fmt.Sprintf("The sign decodes to %d bytes, but RSA-%d signatures are %d bytes: the sign was truncated, or made with a key of another size, so not with this key's private half.", len(sig), key.pub.N.BitLen(), (key.pub.N.BitLen()+7)/8))
	case recoveredWrongKey:
		return append(causes, c.wrongKey(key)...)
	}
	if rec.hash == 0 {
		return append(causes, "The signature was made by this key's private half, but over a hash that is neither SHA-1 (RSA) nor SHA-256 (RSA2): the signer used an algorithm Alipay does not.")
	}
	if used := signTypeOf(rec.hash); used != c.alg {
		causes = append(causes, c.algMismatch(used))
	}
	for i, cand := range slices.Concat(c.accepted, c.mistakes) {
		if bytes.Equal(digest(rec.hash, cand.content), rec.digest) {
			if i >= len(c.accepted) {
				causes = append(causes, cand.label+".")
			}
			if len(causes) == 0 {
				causes = append(causes, "zhifu finds this signature valid over the string above; the SDK refused it for a reason zhifu cannot name.")
			}
			return causes
		}
	}
	changed := "a field was changed after signing (an amount edited, a parameter added or removed), or a value was altered on the way (trimmed, re-encoded, transcoded)"
	tried := "the other sign_type convention, values URL-decoded once more or once less, empty values signed"
	if c.response {
		changed = "the node was edited after signing (an amount changed, a field added or removed), or altered on the way"
		tried = `\/ escapes removed, white space changed, Go's \u0026-style escapes`
	}
	return append(causes, fmt.Sprintf("The key matches the signature (its private half made it), but over different content: %s. zhifu also tried %s, and none matches. Compare the %s above with the one the signer used.", changed, tried, strings.ToLower(c.content())))
}

// wrongKey explains a signature this key did not make.
func (c *check) wrongKey(key *keyFile) []string {
	var causes []string
	if key.kind == kindPrivate {
		causes = append(causes, fmt.Sprintf("%s is a private key, given where a public key belongs; zhifu used its public half, and it does not match. Only Alipay holds the key that signs notifies, returns and responses: if this is your app private key, its public half is your app public key, the wrong side.", key.path))
	}
	msg := "The key does not match the signature: another key made it."
	switch c.signer {
	case signerAlipay:
		msg += " Notifies, returns and responses are signed by Alipay: if this is your app public key, use the Alipay public key (支付宝公钥, shown in 开放平台 → 开发设置) instead; and the sandbox's Alipay key for sandbox messages, production's for production."
	case signerApp:
		msg += " Requests are signed with the app private key: verify them with the app public key (app_public_key.pem), not the Alipay public key; and check the app private key that signed belongs to this app id."
	default:
		msg += " Notifies and returns verify with the Alipay public key (支付宝公钥), requests with the app public key: check which this message is and which key this is."
	}
	if key.kind == kindCertificate {
		msg += fmt.Sprintf(" In certificate mode, Alipay's messages verify with alipayCertPublicKey_RSA2.crt, not the app or root certificate (%s has subject %s).", key.path, key.cert.Subject)
	}
	return append(causes, msg)
}

// algMismatch explains a signature made with another algorithm than the
// one verifiers use.
func (c *check) algMismatch(used alipay.SignType) string {
	made := fmt.Sprintf("The signature was made with %s", describeAlg(used))
	switch {
	case c.response:
		return fmt.Sprintf("%s, but verified as %s: Alipay signs responses with your app's sign_type; configure %s (--sign-type %s here).", made, c.alg, used, used)
	case c.algFrom == "from sign_type":
		return fmt.Sprintf("%s, but sign_type says %s: sign_type was changed after signing, or the signer used another algorithm than it declared (the Java SDK defaults to RSA when none is configured).", made, c.alg)
	}
	return fmt.Sprintf("%s, but the form has no sign_type, so verifiers assume RSA2: the sign_type=%s parameter was dropped on the way.", made, used)
}

// formMistake rebuilds a form's string-to-sign the way a known mistake
// would.
type formMistake struct {
	label string
	build func(conv func(url.Values) string) string
}

// maxProbedParams bounds the forms whose parameters are probed one by one
// (a trade notify has about 25); larger forms get the whole-form probes only,
// so that the work stays linear in the input.
const maxProbedParams = 64

// formMistakes lists what mistakes with a form's encoding produce, for the
// conventions a caller applies them to.
func formMistakes(params url.Values) []formMistake {
	var ms []formMistake
	with := func(label string, p url.Values) {
		ms = append(ms, formMistake{label, func(conv func(url.Values) string) string { return conv(p) }})
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range params {
			if k != "sign" && k != "sign_type" && !yield(k) {
				return
			}
		}
	})

	perKey := len(keys) <= maxProbedParams

	// Still encoded: the values hold %-escapes once form-decoded.
	all, changed := cloneValues(params), false
	for _, k := range keys {
		if v, err := url.QueryUnescape(params.Get(k)); err == nil && v != params.Get(k) {
			all.Set(k, v)
			changed = true
			if perKey {
				p := cloneValues(params)
				p.Set(k, v)
				with(fmt.Sprintf("The value of %s is still URL-encoded, but was signed decoded: it was encoded twice on the way", k), p)
			}
		}
	}
	if changed {
		ms = slices.Insert(ms, 0, formMistake{"The values are still URL-encoded after form-decoding, but were signed decoded: the message was URL-encoded twice (or pasted before decoding); decode it exactly once", func(conv func(url.Values) string) string { return conv(all) }})
	}

	// Decoded once too often: the signer signed %-escapes (passback_params
	// is URL-encoded by merchants), and something decoded them again.
	for _, k := range keys {
		if !perKey {
			break
		}
		v := params.Get(k)
		for _, enc := range []string{url.QueryEscape(v), encodeURIComponent(v)} {
			if enc != v {
				p := cloneValues(params)
				p.Set(k, enc)
				with(fmt.Sprintf("The value of %s was URL-decoded once too often: it was signed still %%-encoded (%s=%s); use the values exactly as one form-decoding gives them (the Node SDK's checkNotifySign decodes them again)", k, k, enc), p)
			}
		}
	}

	// Empty values signed as "key=", as the Node SDK 4.x does; the gateway
	// and alipay leave them out. Built with the SDK's own canonical join by
	// marking the empty values with a NUL and removing it afterwards.
	var empty []string
	for _, k := range keys {
		if isBlank(params.Get(k)) {
			empty = append(empty, k)
		}
	}
	if len(empty) > 0 && !strings.Contains(alipay.RequestStringToSign(params), "\x00") {
		p := cloneValues(params)
		for _, k := range empty {
			p.Set(k, p.Get(k)+"\x00")
		}
		ms = append(ms, formMistake{
			fmt.Sprintf("The signer included the empty %s in the string-to-sign (as %s=), as the Node SDK 4.x does; the gateway and the Java SDK leave empty values out: never send empty parameters", strings.Join(empty, ", "), empty[0]),
			func(conv func(url.Values) string) string { return strings.ReplaceAll(conv(p), "\x00", "") },
		})
	}
	return ms
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	return c
}

// encodeURIComponent escapes s as JavaScript's encodeURIComponent does.
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// decodeSign decodes a sign value, repairing the damage it commonly takes
// on the way; each repair needed is returned as a cause. When the sign
// cannot be decoded, ok is false and the last cause says why.
func decodeSign(sign string) (sig []byte, causes []string, ok bool) {
	if sign == "" {
		return nil, []string{"There is no sign: the message was not signed, or the sign was dropped on the way."}, false
	}
	if b, err := base64.StdEncoding.DecodeString(sign); err == nil {
		return b, nil, true
	}
	s := sign
	if strings.Contains(s, "%") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
			causes = append(causes, "The sign is still URL-encoded (%2B, %2F, %3D): it was encoded twice on the way.")
		}
	}
	if strings.Contains(s, " ") {
		s = strings.ReplaceAll(s, " ", "+")
		causes = append(causes, "The sign has spaces where its + characters were: it was put into a URL or form without URL-encoding, so each + was decoded as a space (+ must be sent as %2B).")
	}
	if strings.ContainsAny(s, "\r\n\t") {
		s = strings.Join(strings.Fields(s), "")
		causes = append(causes, "The sign is broken over several lines.")
	}
	if strings.ContainsAny(s, "-_") {
		s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
		causes = append(causes, "The sign uses the URL-safe base64 alphabet (- and _); Alipay uses the standard one (+ and /).")
	}
	if n := len(s) % 4; n != 0 && !strings.HasSuffix(s, "=") {
		s += strings.Repeat("=", 4-n)
		causes = append(causes, "The sign has lost its trailing = padding.")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, []string{fmt.Sprintf("The sign is not base64 (%d characters): it was truncated or mangled on the way.", len(sign))}, false
	}
	return b, causes, true
}

// recovered is what the public-key operation reveals about a signature.
type recovered struct {
	status recoveredStatus
	hash   crypto.Hash // 0 if the digest is of an unknown kind
	digest []byte
}

type recoveredStatus int

const (
	recoveredOK          recoveredStatus = iota // this key's private half made the signature
	recoveredWrongLength                        // the signature has another length than the key's
	recoveredWrongKey                           // another key made it
)

// digestInfoPrefix is the DER prefix of a PKCS#1 v1.5 DigestInfo, per
// hash (RFC 8017, section 9.2, note 1).
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
}

// recoverSignature applies the public key to sig and reads the PKCS#1 v1.5
// block: 00 01 FF…FF 00 DigestInfo. Only public values are involved, so
// math/big's variable-time arithmetic is fine.
func recoverSignature(pub *rsa.PublicKey, sig []byte) recovered {
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k {
		return recovered{status: recoveredWrongLength}
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return recovered{status: recoveredWrongKey}
	}
	em := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N).FillBytes(make([]byte, k))
	i := 2
	for i < k && em[i] == 0xff {
		i++
	}
	if em[0] != 0 || em[1] != 1 || i-2 < 8 || i >= k || em[i] != 0 {
		return recovered{status: recoveredWrongKey}
	}
	t := em[i+1:]
	for h, prefix := range digestInfoPrefix {
		if len(t) == len(prefix)+h.Size() && bytes.HasPrefix(t, prefix) {
			return recovered{status: recoveredOK, hash: h, digest: t[len(prefix):]}
		}
	}
	return recovered{status: recoveredOK}
}

func digest(h crypto.Hash, content string) []byte {
	if h == crypto.SHA1 {
		d := sha1.Sum([]byte(content))
		return d[:]
	}
	d := sha256.Sum256([]byte(content))
	return d[:]
}

func signTypeOf(h crypto.Hash) alipay.SignType {
	if h == crypto.SHA1 {
		return alipay.SignTypeRSA
	}
	return alipay.SignTypeRSA2
}

func describeAlg(t alipay.SignType) string {
	switch t {
	case alipay.SignTypeRSA:
		return "RSA (SHA1withRSA)"
	case alipay.SignTypeRSA2:
		return "RSA2 (SHA256withRSA)"
	}
	return string(t)
}
