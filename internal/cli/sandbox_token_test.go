package cli

import (
	"net/http"
	"strings"
	"testing"
)

// controlStatus returns the status of GET /sandbox/api/apps on the
// sandbox rs, with the bearer token if any.
func controlStatus(t *testing.T, rs *runningSandbox, token string) int {
	t.Helper()
	url := strings.TrimSuffix(rs.info["gateway"], "/gateway.do") + "/sandbox/api/apps"
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSandboxCommandControlToken(t *testing.T) {
	t.Parallel()
	t.Run("flag", func(t *testing.T) {
		t.Parallel()
		rs := startSandboxEnv(t, map[string]string{controlTokenEnv: "from-env"}, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--control-token", "from-flag")
		if got := controlStatus(t, rs, ""); got != http.StatusUnauthorized {
			t.Errorf("without the token: %d", got)
		}
		if got := controlStatus(t, rs, "from-env"); got != http.StatusUnauthorized {
			t.Errorf("the flag does not win over the environment: %d", got)
		}
		if got := controlStatus(t, rs, "from-flag"); got != http.StatusOK {
			t.Errorf("with the token: %d", got)
		}
		if !strings.HasSuffix(rs.info["dashboard"], "/sandbox/") {
			t.Errorf("no dashboard line in\n%s", rs.stdout)
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Parallel()
		rs := startSandboxEnv(t, map[string]string{controlTokenEnv: "from-env"}, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
		if got := controlStatus(t, rs, "from-env"); got != http.StatusOK {
			t.Errorf("with the token: %d", got)
		}
		if got := controlStatus(t, rs, ""); got != http.StatusUnauthorized {
			t.Errorf("without the token: %d", got)
		}
	})
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		rs := startSandbox(t, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
		if got := controlStatus(t, rs, ""); got != http.StatusOK {
			t.Errorf("loopback without a token: %d", got)
		}
		if strings.Contains(rs.stderr.String(), "warning") {
			t.Errorf("a warning on loopback:\n%s", rs.stderr)
		}
	})
}

func TestSandboxCommandExposedWarning(t *testing.T) {
	t.Parallel()
	rs := startSandbox(t, "--addr", "0.0.0.0:0", "--data-dir", t.TempDir())
	if e := rs.stderr.String(); !strings.Contains(e, "warning: --addr 0.0.0.0:0 is not a loopback address") || !strings.Contains(e, controlTokenEnv) {
		t.Errorf("no warning:\n%s", e)
	}
	rs = startSandbox(t, "--addr", "0.0.0.0:0", "--data-dir", t.TempDir(), "--control-token", "t")
	if e := rs.stderr.String(); strings.Contains(e, "warning") {
		t.Errorf("a warning with a token:\n%s", e)
	}
}

func TestLoopbackAddr(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8090": true, "localhost:8090": true, "[::1]:0": true, "127.1.2.3:1": true,
		":8090": false, "0.0.0.0:8090": false, "[::]:8090": false, "192.168.1.5:8090": false, "example.com:80": false, "nonsense": false,
	} {
		if got := loopbackAddr(addr); got != want {
			t.Errorf("loopbackAddr(%q) = %v", addr, got)
		}
	}
}
