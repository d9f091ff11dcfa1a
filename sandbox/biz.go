package sandbox

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"zhifu/alipay"
)

// bizContent is a decoded biz_content: each business parameter's raw JSON.
type bizContent map[string]json.RawMessage

// parseBiz decodes biz_content, which must be a JSON object. Anything else
// is answered 40004 ACQ.INVALID_PARAMETER: the protocol notes (§12) leave
// Alipay's exact answer UNCONFIRMED and advise ACQ.INVALID_PARAMETER for
// every biz_content problem, which also keeps "the gateway took the
// request, the business refused it" apart from gateway errors.
func parseBiz(content string) (bizContent, *reply) {
	var b bizContent
	if err := json.Unmarshal([]byte(content), &b); err != nil || b == nil {
		return nil, invalidParam("biz_content", "不是合法的 JSON 对象")
	}
	return b, nil
}

// text returns a string parameter; "" when absent or null. A JSON number
// is taken as its text, as Alipay's lenient parser does (UNCONFIRMED);
// any other type is refused.
func (b bizContent) text(key string) (string, *reply) {
	raw, ok := b[key]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", invalidParam(key, "不是字符串")
		}
		return s, nil
	case c == '-' || c >= '0' && c <= '9':
		return string(raw), nil
	}
	return "", invalidParam(key, "不是字符串")
}

// textMax returns a string parameter of at most max characters.
func (b bizContent) textMax(key string, max int) (string, *reply) {
	s, fail := b.text(key)
	if fail != nil {
		return "", fail
	}
	if !utf8.ValidString(s) {
		return "", invalidParam(key, "不是合法的 UTF-8")
	}
	if utf8.RuneCountInString(s) > max {
		return "", invalidParam(key, "超过最大长度")
	}
	return s, nil
}

// amount returns an amount parameter: a JSON string or number of yuan with
// at most two decimals, within [0.01, 100000000.00]. The protocol leaves it
// UNCONFIRMED whether Alipay takes numbers; the official Node SDK sends
// them, so the sandbox takes both and keeps the exact value (never through
// a float). ok is false when the parameter is absent.
func (b bizContent) amount(key string) (a alipay.Amount, ok bool, fail *reply) {
	raw, present := b[key]
	if !present || string(raw) == "null" || string(raw) == `""` {
		return 0, false, nil
	}
	if err := a.UnmarshalJSON(raw); err != nil {
		return 0, false, invalidParam(key, "格式错误: 应为元，最多两位小数")
	}
	if a.CheckTradeAmount() != nil {
		return 0, false, invalidParam(key, "超出范围 [0.01, 100000000.00]")
	}
	return a, true, nil
}

// list returns a parameter that is a JSON array of strings, such as
// query_options; a malformed one is refused.
func (b bizContent) list(key string) ([]string, *reply) {
	raw, ok := b[key]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, invalidParam(key, "不是字符串数组")
	}
	return l, nil
}
