package alipay

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrResponse is wrapped by errors about a response that cannot be read: not
// JSON, no response node, a duplicated node.
var ErrResponse = errors.New("alipay: unreadable response")

// maxJSONDepth bounds nesting in the scanner, so a hostile body cannot make
// it recurse without end.
const maxJSONDepth = 64

// RawResponse is a gateway answer cut into its parts, without decoding the
// node: what a signature check needs.
type RawResponse struct {
	// Node is the exact bytes of the value of "<method>_response" (or of
	// "error_response"): an object, or a quoted string when encrypted. The
	// signature covers these bytes as received.
	Node []byte
	// ErrorNode reports that Node came from "error_response".
	ErrorNode bool
	// Sign is the top-level "sign" value, unescaped ("" when absent).
	Sign string
	// AlipayCertSN is the top-level "alipay_cert_sn" value (certificate mode).
	AlipayCertSN string
}

// ResponseNodeKey returns the key of the response node of method:
// "alipay.trade.query" → "alipay_trade_query_response".
func ResponseNodeKey(method string) string {
	b := make([]byte, 0, len(method)+9)
	for i := 0; i < len(method); i++ {
		if method[i] == '.' {
			b = append(b, '_')
		} else {
			b = append(b, method[i])
		}
	}
	return string(append(b, "_response"...))
}

// ParseResponse cuts a gateway response body for method into its parts by
// scanning it, without decoding or re-serialising anything: the node's
// bytes stay exactly as received, which is what the signature covers. The
// top level must be a JSON object; a node key present twice is refused (the
// injection the Java SDK guards against), and so is a body with neither the
// method's node nor "error_response".
func ParseResponse(body []byte, method string) (RawResponse, error) {
	var r RawResponse
	nodeKey := ResponseNodeKey(method)
	var errorNode []byte
	seen := 0
	err := scanObject(body, func(key, val []byte) error {
		switch string(key) {
		case nodeKey:
			if r.Node != nil {
				return fmt.Errorf("%w: %q appears twice", ErrResponse, nodeKey)
			}
			r.Node = val
		case "error_response":
			if errorNode != nil {
				return fmt.Errorf("%w: \"error_response\" appears twice", ErrResponse)
			}
			errorNode = val
		case "sign":
			s, err := jsonStringValue(val)
			if err != nil || seen&1 != 0 {
				return fmt.Errorf("%w: bad or repeated \"sign\"", ErrResponse)
			}
			seen |= 1
			r.Sign = s
		case "alipay_cert_sn":
			s, err := jsonStringValue(val)
			if err != nil || seen&2 != 0 {
				return fmt.Errorf("%w: bad or repeated \"alipay_cert_sn\"", ErrResponse)
			}
			seen |= 2
			r.AlipayCertSN = s
		}
		return nil
	})
	if err != nil {
		return RawResponse{}, err
	}
	if r.Node == nil {
		if errorNode == nil {
			return RawResponse{}, fmt.Errorf("%w: no %q in the body", ErrResponse, nodeKey)
		}
		r.Node, r.ErrorNode = errorNode, true
	}
	if c := r.Node[0]; c != '{' && c != '"' {
		return RawResponse{}, fmt.Errorf("%w: %q is neither an object nor an encrypted string", ErrResponse, nodeKey)
	}
	return r, nil
}

// scanObject calls fn for each member of the JSON object b, in order, with
// the raw key (between the quotes) and the raw value bytes. Only
// whitespace may surround the object.
func scanObject(b []byte, fn func(key, val []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return fmt.Errorf("%w: the body is not a JSON object", ErrResponse)
	}
	end, err := scanObjectMembers(b, i, 0, fn)
	if err != nil {
		return err
	}
	if skipSpace(b, end) != len(b) {
		return fmt.Errorf("%w: data after the JSON object", ErrResponse)
	}
	return nil
}

// scanObjectMembers scans the object starting at b[i] == '{' and returns the
// index after its closing brace.
func scanObjectMembers(b []byte, i, depth int, fn func(key, val []byte) error) (int, error) {
	if depth > maxJSONDepth {
		return 0, fmt.Errorf("%w: JSON nested too deeply", ErrResponse)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errSyntax(i)
		}
		keyEnd, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : keyEnd-1]
		i = skipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return 0, errSyntax(i)
		}
		i = skipSpace(b, i+1)
		valEnd, err := scanValue(b, i, depth+1)
		if err != nil {
			return 0, err
		}
		if fn != nil {
			if err := fn(key, b[i:valEnd]); err != nil {
				return 0, err
			}
		}
		i = skipSpace(b, valEnd)
		if i >= len(b) {
			return 0, errSyntax(i)
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, errSyntax(i)
		}
	}
}

// scanValue returns the index after the JSON value starting at b[i].
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax(i)
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{':
		return scanObjectMembers(b, i, depth, nil)
	case c == '[':
		if depth > maxJSONDepth {
			return 0, fmt.Errorf("%w: JSON nested too deeply", ErrResponse)
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			end, err := scanValue(b, i, depth+1)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return 0, errSyntax(i)
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, errSyntax(i)
			}
			i = skipSpace(b, i+1)
		}
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
		// A literal: its extent is enough here; json.Unmarshal of the node
		// checks its grammar later.
		j := i
		for j < len(b) && isLiteralByte(b[j]) {
			j++
		}
		return j, nil
	}
	return 0, errSyntax(i)
}

func isLiteralByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E'
}

// scanString returns the index after the string literal starting at
// b[i] == '"', honouring backslash escapes.
func scanString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, nil
		case '\\':
			j++
		default:
			if b[j] < 0x20 {
				return 0, errSyntax(j)
			}
		}
	}
	return 0, fmt.Errorf("%w: unterminated string", ErrResponse)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func errSyntax(i int) error {
	return fmt.Errorf("%w: JSON syntax error at byte %d", ErrResponse, i)
}

// jsonStringValue decodes a raw JSON string token.
func jsonStringValue(tok []byte) (string, error) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", errSyntax(0)
	}
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return "", fmt.Errorf("%w: %w", ErrResponse, err)
	}
	return s, nil
}

// verifyNode checks the signature over node as received and, as Alipay's
// Java SDK does, once more with every `\/` written as `/`, since Alipay has
// at times signed the unescaped text.
func verifyNode(key *rsa.PublicKey, t SignType, node []byte, sign string) error {
	err := Verify(key, t, node, sign)
	if err == nil || !bytes.Contains(node, []byte(`\/`)) {
		return err
	}
	return Verify(key, t, bytes.ReplaceAll(node, []byte(`\/`), []byte(`/`)), sign)
}

// VerifyResponse cuts body with [ParseResponse] and checks its signature
// with key. It returns the parsed parts when the signature holds. An
// unsigned error_response (a gateway-level failure, which Alipay may leave
// unsigned) is returned with a nil error and an empty Sign: callers must not
// trust it for anything but "the call failed".
func VerifyResponse(key *rsa.PublicKey, t SignType, body []byte, method string) (RawResponse, error) {
	r, err := ParseResponse(body, method)
	if err != nil {
		return RawResponse{}, err
	}
	if r.Sign == "" && r.ErrorNode {
		return r, nil
	}
	if err := verifyNode(key, t, r.Node, r.Sign); err != nil {
		return RawResponse{}, err
	}
	return r, nil
}

// SignResponse builds a response body the way Alipay's gateway does: the
// node bytes signed as they are, then the envelope
// {"<method>_response":node,"alipay_cert_sn":certSN,"sign":sign} joined
// around them (alipay_cert_sn only when certSN is set). The zhifu sandbox
// answers with it; tests use it to stand in for Alipay.
func SignResponse(signer crypto.Signer, t SignType, method string, node []byte, certSN string) ([]byte, error) {
	return signEnvelope(signer, t, ResponseNodeKey(method), node, certSN)
}

// SignErrorResponse is SignResponse for a gateway-level failure, answered
// under "error_response".
func SignErrorResponse(signer crypto.Signer, t SignType, node []byte, certSN string) ([]byte, error) {
	return signEnvelope(signer, t, "error_response", node, certSN)
}

func signEnvelope(signer crypto.Signer, t SignType, key string, node []byte, certSN string) ([]byte, error) {
	sign, err := Sign(signer, t, node)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(key)+len(node)+len(certSN)+len(sign)+48)
	b = append(b, `{"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	b = append(b, node...)
	if certSN != "" {
		b = append(b, `,"alipay_cert_sn":"`...)
		b = append(b, certSN...)
		b = append(b, '"')
	}
	b = append(b, `,"sign":"`...)
	b = append(b, sign...)
	return append(b, `"}`...), nil
}
