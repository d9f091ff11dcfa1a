package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"zhifu/alipay"
)

func verifyCommand() *command {
	return &command{
		name:    "verify",
		summary: "check the signature of a notify, return, request or response, and explain a failure",
		run:     runVerify,
	}
}

func runVerify(_ context.Context, s *streams, args []string) int {
	f := newFlagSet("zhifu verify", `
Usage: zhifu verify --public-key FILE [--method M] [--sign-type RSA2|RSA] [-v] < message

Checks the signature of the message on stdin, as Alipay's SDKs and gateway do:
  a JSON API response   the raw bytes of its <method>_response node (the method is
                        --method, or the one *_response key of the body)
  an async notify or a  form with notify_id/notify_type, or a method ending in .return:
  sync return           every parameter except sign and sign_type (then, as the SDKs
                        do, with sign_type included)
  a gateway request     form with a method: every parameter except sign
A form of neither kind is tried with both conventions.

`+formHelp+`

When the signature holds, prints "signature OK (...)" and exits 0. Otherwise
exits 1 and explains on stderr: the exact string-to-sign used, and the likely
cause, found by undoing the signature with the key (which tells a wrong key
from changed content, and reveals the algorithm the signer used) and by trying
the usual mistakes: sign_type mismatch, the other convention, values URL-decoded
once too often or too rarely, a sign whose + became spaces, \/ escapes removed,
JSON re-formatted, empty values signed, text transcoded from or to GBK.

The key may be a public key (PEM or bare base64, SPKI or PKCS#1), a
certificate (its key is used), or by mistake a private key (its public half is
used, and you are told so). Notifies, returns and responses are signed by
Alipay: use the Alipay public key (支付宝公钥). Requests are signed by your app:
use the app public key.`)
	keyPath := f.String("public-key", "", "the verifying key `FILE`: public key or certificate, PEM or base64")
	method := f.String("method", "", "the API `method` of a JSON response, e.g. alipay.trade.query (default: from the body's *_response key)")
	signType := f.String("sign-type", "", "signature `ALG` of a JSON response, RSA2 or RSA: your app's sign_type (default RSA2); forms name theirs in sign_type")
	verbose := f.Bool("v", false, "print the string-to-sign on stderr also when the signature holds")
	if code, done := f.parse(s, args); done {
		return code
	}
	if *keyPath == "" {
		return f.usageError(s, "--public-key FILE is required")
	}
	if *signType != "" && *signType != string(alipay.SignTypeRSA2) && *signType != string(alipay.SignTypeRSA) {
		return f.usageError(s, "--sign-type %q: want RSA2 or RSA", *signType)
	}
	key, err := readAnyKey(s, *keyPath)
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu verify: %v\n", err)
		return exitFail
	}
	input, err := readInput(s, "the notify, return, request or response")
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu verify: %v\n", err)
		return exitFail
	}
	var c *check
	if t := bytes.TrimSpace(input); t[0] == '{' {
		c, err = responseCheck(t, key, *method, alipay.SignType(*signType))
	} else {
		if *method != "" {
			fmt.Fprintf(s.stderr, "note: --method only applies to JSON responses; ignored for this form\n")
		}
		c, err = formCheck(input, alipay.SignType(*signType))
	}
	if err != nil {
		fmt.Fprintf(s.stderr, "zhifu verify: %v\n", err)
		return exitFail
	}
	return c.run(s, key, *verbose)
}

// Labels of the conventions a form may be signed with.
const (
	notifyConvention  = "notify convention: every parameter except sign and sign_type"
	requestConvention = "request convention: every parameter except sign, sign_type included"
)

// formCheck prepares the check of a notify, return or request form.
func formCheck(input []byte, asked alipay.SignType) (*check, error) {
	params, _, err := parseForm(string(input))
	if err != nil {
		return nil, err
	}
	c := &check{
		sign:    params.Get("sign"),
		alg:     alipay.SignType(params.Get("sign_type")),
		algFrom: "from sign_type",
	}
	if c.alg == "" {
		c.alg, c.algFrom = alipay.SignTypeRSA2, "the default: the form has no sign_type"
	}
	if asked != "" && asked != c.alg {
		c.notes = append(c.notes, fmt.Sprintf("--sign-type %s ignored: a form names its algorithm in sign_type (%s here).", asked, c.algFrom))
	}

	notifyStr, requestStr := alipay.NotifyStringToSign(params), alipay.RequestStringToSign(params)
	method := params.Get("method")
	var conventions []func(url.Values) string // what mistakes are tried with: the message's own convention first
	switch {
	case params.Has("notify_id") || params.Has("notify_type"):
		c.what, c.signer = "async notify", signerAlipay
		if t := params.Get("notify_type"); t != "" {
			c.what += " " + t
		}
	case strings.HasSuffix(method, ".return"):
		c.what, c.signer = "sync return "+method, signerAlipay
	case method != "":
		c.what, c.signer = "gateway request "+method, signerApp
	default:
		c.what, c.signer = "form (no notify_id, notify_type or method: tried as a notify and as a request)", signerUnknown
	}
	if c.signer == signerApp {
		c.verify = func(k *keyFile) error { return alipay.VerifyRequest(k.pub, params) }
		c.accept(requestConvention, requestStr)
		c.mistake("The signer left sign_type out of the string-to-sign (the notify convention); a gateway request signs every parameter except sign, sign_type included", notifyStr)
		conventions = []func(url.Values) string{alipay.RequestStringToSign, alipay.NotifyStringToSign}
	} else {
		// VerifyNotify tries without sign_type, then with it: the request
		// convention, so it covers forms of unknown kind too.
		c.verify = func(k *keyFile) error { return alipay.VerifyNotify(k.pub, params) }
		c.accept(notifyConvention, notifyStr)
		label := `sign_type included (the "V2" convention of some non-trade messages, which Alipay's SDKs accept)`
		if c.signer == signerUnknown {
			label = requestConvention
		}
		if params.Has("sign_type") {
			c.accept(label, requestStr)
		}
		conventions = []func(url.Values) string{alipay.NotifyStringToSign, alipay.RequestStringToSign}
	}
	for _, m := range formMistakes(params) {
		for i, conv := range conventions {
			label := m.label
			if i > 0 && c.signer == signerApp {
				label += "; and sign_type was left out of the string-to-sign"
			}
			c.mistake(label, m.build(conv))
		}
	}
	c.notes = append(c.notes, charsetNotes(params)...)
	return c, nil
}

// charsetNotes points out text that cannot be what Alipay signed: bytes that
// are not UTF-8 in a UTF-8 message, or UTF-8 text in a GBK one.
func charsetNotes(params url.Values) []string {
	charset := strings.ToLower(params.Get("charset"))
	gbk := charset == "gbk" || charset == "gb2312" || charset == "gb18030"
	var invalid, nonASCII []string
	for k, vs := range params {
		switch {
		case !utf8.ValidString(vs[0]):
			invalid = append(invalid, k)
		case strings.ContainsFunc(vs[0], func(r rune) bool { return r >= utf8.RuneSelf }):
			nonASCII = append(nonASCII, k)
		}
	}
	slices.Sort(invalid)
	slices.Sort(nonASCII)
	switch {
	case gbk && len(nonASCII) > 0:
		return []string{fmt.Sprintf("The message says charset=%s, but the value of %s is UTF-8 text: Alipay signed the %s bytes, so the text was transcoded after signing (zhifu does not transcode; verify the bytes as received).", charset, strings.Join(nonASCII, ", "), charset)}
	case gbk:
		return []string{fmt.Sprintf("The message says charset=%s: Alipay signed its %s bytes, which verify only if they reach the verifier unchanged; zhifu's sandbox and SDK speak utf-8 only.", charset, charset)}
	case len(invalid) > 0:
		return []string{fmt.Sprintf("The value of %s holds bytes that are not UTF-8 (GBK?), although the message says charset=%s: Alipay signs UTF-8 text, so the text was transcoded on the way or decoded with the wrong charset.", strings.Join(invalid, ", "), cmp.Or(charset, "nothing"))}
	}
	return nil
}

// responseCheck prepares the check of a JSON API response.
func responseCheck(body []byte, key *keyFile, method string, asked alipay.SignType) (*check, error) {
	if method == "" {
		var err error
		if method, err = responseMethod(body); err != nil {
			return nil, err
		}
	}
	r, err := alipay.ParseResponse(body, method)
	if err != nil {
		return nil, fmt.Errorf("%w (pass --method if the body answers another method)", err)
	}
	nodeKey := alipay.ResponseNodeKey(method)
	if r.ErrorNode {
		nodeKey = "error_response"
	}
	c := &check{
		what:     nodeKey,
		signer:   signerAlipay,
		sign:     r.Sign,
		alg:      asked,
		algFrom:  "from --sign-type",
		response: true,
	}
	if c.alg == "" {
		c.alg, c.algFrom = alipay.SignTypeRSA2, "the default; a response carries no sign_type: pass --sign-type RSA if your app signs with RSA"
	}
	var status struct {
		Code    string `json:"code"`
		SubCode string `json:"sub_code"`
	}
	if json.Unmarshal(r.Node, &status) == nil && status.Code != "" {
		c.what += ", code " + strings.TrimSpace(status.Code+" "+status.SubCode)
	}
	switch {
	case r.Sign == "" && r.ErrorNode:
		c.unsigned = "the body is an unsigned error_response: a gateway-level failure, which Alipay may leave unsigned. There is no signature to check: trust it only as \"the call failed\"."
	case r.Sign == "":
		c.unsigned = "the body has no \"sign\": Alipay signs every " + nodeKey + "; this one was cut from its envelope or did not come from Alipay."
	}
	c.verify = func(k *keyFile) error {
		_, err := alipay.VerifyResponse(k.pub, c.alg, body, method)
		return err
	}
	node := r.Node
	c.accept("the raw bytes of the "+nodeKey+" value, as received", string(node))
	if bytes.Contains(node, []byte(`\/`)) {
		c.accept(`the node with every \/ read as / (Alipay has signed unescaped text at times; the SDKs retry this way)`, string(bytes.ReplaceAll(node, []byte(`\/`), []byte("/"))))
	}
	const rawBytes = ": verify the body's raw bytes exactly as received, before any JSON decoding"
	c.mistake(`The \/ escapes of Alipay's JSON were removed after signing (the body was re-serialised, or un-escaped by a tool)`+rawBytes, string(escapeSlashes(node)))
	var compact bytes.Buffer
	if json.Compact(&compact, node) == nil {
		c.mistake("White space in the node changed after signing (the JSON was pretty-printed or re-formatted)"+rawBytes, compact.String())
		c.mistake(`The JSON was re-formatted and its \/ escapes removed after signing`+rawBytes, string(escapeSlashes(compact.Bytes())))
	}
	goEscapes := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
	c.mistake(`The JSON was re-serialised by Go's encoding/json, which writes <, > and & as \u003c, \u003e and \u0026`+rawBytes, goEscapes.Replace(string(node)))
	if !utf8.Valid(node) {
		c.notes = append(c.notes, "The node holds bytes that are not UTF-8: Alipay signs UTF-8 text, so the body was transcoded on the way or read with the wrong charset.")
	}
	if r.AlipayCertSN != "" && key.cert != nil {
		if sn, err := alipay.CertSN(key.cert.Raw); err == nil && sn != r.AlipayCertSN {
			c.notes = append(c.notes, fmt.Sprintf("The response's alipay_cert_sn is %s, but %s has SN %s: Alipay signed with another certificate (rotated: download the new one), or %s is not the Alipay certificate.", r.AlipayCertSN, key.path, sn, key.path))
		}
	}
	return c, nil
}

// responseMethod infers the method of a response body from its one
// *_response key ("" when the body holds only error_response).
func responseMethod(body []byte) (string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return "", fmt.Errorf("the input starts with { but is not a JSON object: %w", err)
	}
	var nodes []string
	for k := range top {
		if strings.HasSuffix(k, "_response") && k != "error_response" {
			nodes = append(nodes, k)
		}
	}
	slices.Sort(nodes)
	switch {
	case len(nodes) == 1:
		return strings.TrimSuffix(nodes[0], "_response"), nil
	case len(nodes) > 1:
		return "", fmt.Errorf("the body has several response nodes (%s): pass --method", strings.Join(nodes, ", "))
	case top["error_response"] != nil:
		return "", nil
	}
	return "", fmt.Errorf("the JSON has no <method>_response node: it is not an Alipay API response")
}

// escapeSlashes writes every / not already escaped as \/, as Alipay's JSON
// writer does.
func escapeSlashes(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for i, c := range b {
		if c == '/' && (i == 0 || b[i-1] != '\\') {
			out = append(out, '\\')
		}
		out = append(out, c)
	}
	return out
}
