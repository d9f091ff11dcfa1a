package sandbox

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"zhifu/alipay"
)

// reply is one answer of the gateway: the status fields every node starts
// with and the business fields that follow them.
type reply struct {
	code    string
	msg     string
	subCode string
	subMsg  string
	// fields are written after the status in key order, as Alipay writes
	// its nodes. Values are marshaled by encoding/json; nil values and
	// empty strings are left out.
	fields map[string]any
}

// codeMsg returns the msg Alipay sends with a gateway code.
func codeMsg(code string) string {
	switch code {
	case alipay.CodeSuccess:
		return "Success"
	case alipay.CodePaying:
		return "order success pay inprocess"
	case alipay.CodeUnknownError:
		return "Service Currently Unavailable"
	case alipay.CodeInsufficientToken:
		return "Insufficient Token Permissions"
	case alipay.CodeMissingArguments:
		return "Missing Required Arguments"
	case alipay.CodeInvalidArguments:
		return "Invalid Arguments"
	case alipay.CodeInsufficientConds:
		return "Insufficient Conditions"
	case alipay.CodeBusinessFailed:
		return "Business Failed"
	}
	return "Unknown"
}

// success returns a 10000 answer with fields.
func success(fields map[string]any) *reply {
	return &reply{code: alipay.CodeSuccess, msg: codeMsg(alipay.CodeSuccess), fields: fields}
}

// newGatewayError returns a gateway-level failure (40001, 40002, …).
func newGatewayError(code, subCode, subMsg string) *reply {
	return &reply{code: code, msg: codeMsg(code), subCode: subCode, subMsg: subMsg}
}

// bizError returns a 40004 business failure.
func bizError(sub alipay.SubCode, subMsg string) *reply {
	return &reply{code: alipay.CodeBusinessFailed, msg: codeMsg(alipay.CodeBusinessFailed), subCode: string(sub), subMsg: subMsg}
}

// invalidParam returns 40004 ACQ.INVALID_PARAMETER naming the field: the
// sandbox's answer to every biz_content problem (§12 of the protocol notes;
// Alipay's exact sub_msg texts are UNCONFIRMED).
func invalidParam(field, problem string) *reply {
	return bizError(alipay.SubCodeInvalidParameter, "参数无效: "+field+" "+problem)
}

// with adds business fields to r and returns it.
func (r *reply) with(fields map[string]any) *reply {
	if r.fields == nil {
		r.fields = make(map[string]any, len(fields))
	}
	maps.Copy(r.fields, fields)
	return r
}

// ok reports whether r is a success (10000).
func (r *reply) ok() bool { return r.code == alipay.CodeSuccess }

// marshal renders the node as Alipay's JSON writer does: compact, status
// first, then the fields sorted by key, non-ASCII as is, and every "/"
// written as "\/". The result is what gets signed and sent.
func (r *reply) marshal() []byte {
	var b bytes.Buffer
	b.WriteString(`{"code":`)
	b.WriteString(strconv.Quote(r.code))
	writeField(&b, "msg", r.msg)
	if r.subCode != "" {
		writeField(&b, "sub_code", r.subCode)
		writeField(&b, "sub_msg", r.subMsg)
	}
	for _, k := range slices.Sorted(maps.Keys(r.fields)) {
		v := r.fields[k]
		if v == nil || v == "" {
			continue
		}
		writeField(&b, k, v)
	}
	b.WriteByte('}')
	return escapeSlashes(b.Bytes())
}

// writeField appends ,"key":value to b.
func writeField(b *bytes.Buffer, key string, v any) {
	b.WriteString(`,"`)
	b.WriteString(key)
	b.WriteString(`":`)
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the sandbox's own values get here; an unmarshalable one
		// is a bug, which the recover middleware turns into a 20000.
		panic("sandbox: marshaling response field " + key + ": " + err.Error())
	}
	b.Truncate(b.Len() - 1) // Encode's newline
}

// escapeSlashes writes every "/" as "\/". In JSON text a "/" can only
// appear inside a string, where both spellings mean the same.
func escapeSlashes(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`))
}

// writeBody writes a gateway answer: HTTP 200 whatever the code, as
// Alipay does. The Content-Type is UNCONFIRMED; text/html;charset=utf-8 is
// what the official SDKs' fixtures show, and clients must not depend on it.
func writeBody(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// writeUnsignedError answers r under "error_response" without a signature:
// Alipay's answer when it cannot tell which app or method it is talking to.
func writeUnsignedError(w http.ResponseWriter, r *reply) {
	body := append([]byte(`{"error_response":`), r.marshal()...)
	writeBody(w, append(body, '}'))
}
