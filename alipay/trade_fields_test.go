package alipay

import (
	"errors"
	"strings"
	"testing"
)

// answer returns an answer function for newTestGateway that checks the
// method called and answers node.
func answer(t testing.TB, method, node string) func(string, map[string]any) string {
	return func(m string, _ map[string]any) string {
		if m != method {
			t.Errorf("method %q, want %q", m, method)
		}
		return node
	}
}

// refuse is the answer function of tests whose request must never reach
// the gateway.
func refuse(t testing.TB) func(string, map[string]any) string {
	return func(m string, _ map[string]any) string {
		t.Errorf("%s was sent despite bad input", m)
		return `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.INVALID_PARAMETER"}`
	}
}

// businessFailure is a response node with code 40004 and subCode.
func businessFailure(subCode SubCode) string {
	return `{"code":"40004","msg":"Business Failed","sub_code":"` + string(subCode) + `","sub_msg":"业务失败"}`
}

// wantBadInput checks that err refuses bad input before anything was sent:
// an "alipay: " message that says want, and a known outcome.
func wantBadInput(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", want)
	}
	if !strings.HasPrefix(err.Error(), "alipay: ") || strings.Contains(err.Error(), "alipay: alipay:") {
		t.Errorf("error %q lacks the prefix or repeats it", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if IsUnknown(err) {
		t.Errorf("bad input reported as an unknown outcome: %v", err)
	}
	if _, ok := errors.AsType[*Error](err); ok {
		t.Errorf("bad input reported as Alipay's answer: %v", err)
	}
}

// wantBiz checks the biz_content of the last request g received, byte for
// byte: field order, amounts as strings, no empty fields.
func wantBiz(t *testing.T, g *testGateway, want string) {
	t.Helper()
	if got := g.last().Get("biz_content"); got != want {
		t.Errorf("biz_content\n got %s\nwant %s", got, want)
	}
}
