package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zhifu/alipay"
)

// loadConfig runs zhifu serve's configuration steps on args and env
// (nothing else of the process's environment is seen) without starting
// anything: the flags, the sources, the files, the checks.
func loadConfig(t *testing.T, env map[string]string, args ...string) (*serveConfig, []problem, []string) {
	t.Helper()
	s := &streams{stdin: strings.NewReader(""), stdout: new(bytes.Buffer), stderr: new(bytes.Buffer), getenv: func(k string) string { return env[k] }}
	f := newServeFlags(serveHelp)
	if code, done := f.parse(s, args); done {
		t.Fatalf("parse %q: exit %d: %s", args, code, s.stderr)
	}
	raw, probs := f.gather(s.getenv)
	cfg, more := buildServeConfig(s, raw)
	probs = append(probs, more...)
	more, warnings := cfg.check()
	return cfg, append(probs, more...), warnings
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeFile(t, dir, "zhifu.json", `{"listen": "127.0.0.1:1001", "app_id": "2021000000000011", "log_level": "warn"}`)
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		listen   string
		from     string
		appIDSrc string
	}{
		{"default", nil, nil, "127.0.0.1:8080", "default", "not set"},
		{"file", nil, []string{"--config", file}, "127.0.0.1:1001", "config file " + file, "config file " + file},
		{"file named by env", map[string]string{"ZHIFU_CONFIG": file}, nil, "127.0.0.1:1001", "config file " + file, "config file " + file},
		{"env over file", map[string]string{"ZHIFU_LISTEN": "127.0.0.1:1002"}, []string{"--config", file}, "127.0.0.1:1002", "environment ZHIFU_LISTEN", "config file " + file},
		{"flag over env", map[string]string{"ZHIFU_LISTEN": "127.0.0.1:1002", "ZHIFU_APP_ID": "2021000000000012"},
			[]string{"--config", file, "--listen", "127.0.0.1:1003"}, "127.0.0.1:1003", "flag --listen", "environment ZHIFU_APP_ID"},
		{"flag set to its default still wins", map[string]string{"ZHIFU_LISTEN": "127.0.0.1:1002"}, []string{"--listen", "127.0.0.1:8080"}, "127.0.0.1:8080", "flag --listen", "not set"},
		{"empty env is unset", map[string]string{"ZHIFU_LISTEN": ""}, []string{"--config", file}, "127.0.0.1:1001", "config file " + file, "config file " + file},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, _ := loadConfig(t, tt.env, tt.args...)
			if cfg.Listen != tt.listen || cfg.from("listen") != tt.from {
				t.Errorf("listen %q from %q, want %q from %q", cfg.Listen, cfg.from("listen"), tt.listen, tt.from)
			}
			if got := cfg.from("app_id"); got != tt.appIDSrc {
				t.Errorf("app_id from %q, want %q", got, tt.appIDSrc)
			}
		})
	}
	// The file's other settings apply too.
	cfg, _, _ := loadConfig(t, nil, "--config", file)
	if cfg.AppID != "2021000000000011" || cfg.LogLevel != slog.LevelWarn {
		t.Errorf("from the file: app id %q, level %v", cfg.AppID, cfg.LogLevel)
	}
}

func TestServeConfigFileMistakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		field   string
		want    string
	}{
		{"unknown key", `{"app_id": "2021000000000001", "listn": ":8080"}`, "listn", "unknown key: remove it, or correct its spelling"},
		{"secret in the file", `{"webhook_secret": "0123456789abcdef0123"}`, "webhook_secret", "set $ZHIFU_WEBHOOK_SECRET, or \"webhook_secret_file\""},
		{"private key in the file", `{"app_private_key": "MIIE"}`, "app_private_key", "secrets are not read from the config file"},
		{"number", `{"default_expiry": 15}`, "default_expiry", "is a number, not a string: quote the value"},
		{"boolean", `{"listen": true}`, "listen", "is a boolean, not a string"},
		{"not JSON", `app_id = 1`, "config", "is not valid JSON"},
		{"array", `["app_id"]`, "config", "is not valid JSON"},
		{"null", `null`, "config", "is not a JSON object of settings"},
		{"two objects", `{"app_id": "1"} {"app_id": "2"}`, "config", "has more after its JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "_")+".json", tt.content)
			_, probs, _ := loadConfig(t, nil, "--config", path)
			wantProblem(t, probs, tt.field, "config file "+path, tt.want)
		})
	}
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(dir, "nope.json")
		_, probs, _ := loadConfig(t, nil, "--config", path)
		wantProblem(t, probs, "config", "config file "+path, "cannot be read (no such file or directory): correct --config")
	})
	t.Run("all mistakes of a file at once", func(t *testing.T) {
		t.Parallel()
		path := writeFile(t, dir, "many.json", `{"a": "1", "b": "2", "listen": 3}`)
		_, probs, _ := loadConfig(t, nil, "--config", path)
		for _, f := range []string{"a", "b", "listen"} {
			wantProblem(t, probs, f, path, "")
		}
	})
}

// wantProblem fails t unless probs has a problem of field, from a source
// containing from, whose message contains msg.
func wantProblem(t *testing.T, probs []problem, field, from, msg string) {
	t.Helper()
	for _, p := range probs {
		if p.field == field && strings.Contains(p.from, from) && strings.Contains(p.msg, msg) {
			return
		}
	}
	var b strings.Builder
	for _, p := range probs {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	t.Errorf("no problem of %s from %q saying %q; problems:\n%s", field, from, msg, b.String())
}

// Secrets of TestServeConfigRedacted and the real runs: none of them may
// appear in any output.
const (
	testWebhookSecret = "whsec-TOPSECRET-0123456789abcdefghij"
	testAdminPassword = "admin-TOPSECRET-pw"
	testDBPassword    = "db-TOPSECRET-pw"
)

// secretParts returns pieces of key, the text of a PEM private key, that
// must never be printed: each line of its base64.
func secretParts(key string) []string {
	var parts []string
	for line := range strings.Lines(key) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "-----") {
			parts = append(parts, line)
		}
	}
	return append(parts, testWebhookSecret, testAdminPassword, testDBPassword)
}

// checkNoSecrets fails t if out holds any of parts.
func checkNoSecrets(t *testing.T, what, out string, parts []string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(out, p) {
			t.Errorf("%s shows a secret (%.12s…):\n%s", what, p, out)
			return
		}
	}
}

func TestServeConfigRedacted(t *testing.T) {
	t.Parallel()
	key := readFile(t, keyPath("app_private_pkcs8.pem"))
	cfg := &serveConfig{
		Listen: "127.0.0.1:0", AppID: "2021000000000001", AppPrivateKey: secret(key),
		AlipayPublicKey: readFile(t, keyPath("alipay_public.pem")), Gateway: alipay.GatewaySandbox,
		PublicURL: "https://pay.example.com", Database: dsn("postgres://zhifu:" + testDBPassword + "@db.example.com:5432/zhifu"),
		WebhookURL: "https://shop.example.com/hook", WebhookSecret: testWebhookSecret, AdminPassword: testAdminPassword,
	}
	cfg.fillDefaults()
	parts := secretParts(key)
	if len(parts) < 10 {
		t.Fatalf("only %d secret parts", len(parts))
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		outs = append(outs, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, *cfg))
		outs = append(outs, fmt.Sprintf(verb, cfg.AppPrivateKey), fmt.Sprintf(verb, cfg.WebhookSecret), fmt.Sprintf(verb, cfg.Database))
	}
	outs = append(outs, fmt.Sprint(cfg, cfg.AdminPassword), fmt.Sprintln(*cfg), cfg.String(), cfg.GoString())
	for _, v := range []any{cfg, cfg.AppPrivateKey, cfg.Database, struct{ S secret }{cfg.WebhookSecret}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		outs = append(outs, string(b))
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("config", "config", cfg, "key", cfg.AppPrivateKey, "db", cfg.Database, "secret", cfg.WebhookSecret, "pw", cfg.AdminPassword)
		l.Info("config", "config", *cfg)
	}
	outs = append(outs, logs.String())
	for i, out := range outs {
		checkNoSecrets(t, fmt.Sprintf("output %d", i), out, parts)
	}
	// What is shown instead: the redaction, and the rest of the DSN.
	if s := cfg.String(); !strings.Contains(s, `webhook_secret="[redacted]"`) || !strings.Contains(s, "postgres://zhifu:xxxxx@db.example.com:5432/zhifu") {
		t.Errorf("String: %s", s)
	}
	if s := fmt.Sprint(secret("")); s != "" {
		t.Errorf("an empty secret prints %q", s)
	}
}

func TestDSNRedaction(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"./zhifu.db":                              "./zhifu.db",
		"postgres://u@h/db":                       "postgres://u@h/db",
		"postgres://u:pw@h/db?sslmode=disable":    "postgres://u:xxxxx@h/db?sslmode=disable",
		"postgresql://u:p@ss:w@rd@h:5432/db":      "postgresql://u:xxxxx@h:5432/db",
		"postgres://u:pw@h":                       "postgres://u:xxxxx@h",
		"postgres://u:%zz@h/db":                   "postgres://u:xxxxx@h/db",
		"postgres://h/db?user=u&password=x":       "postgres://h/db?user=u&password=xxxxx",
		"mysql://root:hunter2@localhost/database": "mysql://root:xxxxx@localhost/database",
	} {
		if got := dsn(in).String(); got != want {
			t.Errorf("dsn(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzServeConfigFile checks that any config file is either refused with
// problems or read into settings that all exist, are not secrets, and
// hold exactly the file's strings.
func FuzzServeConfigFile(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"app_id": "2021000000000001", "listen": ":8080"}`, `{"webhook_secret": "x"}`,
		`{"default_expiry": 15}`, `{"a": {"b": 1}}`, `[1]`, `null`, `{"app_id": "1"} x`, `{"app_id": "\u00e9\ud800"}`,
		`{"app_id": "1", "app_id": "2"}`, "", `"string"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, probs := parseConfigFile("f.json", data)
		for _, p := range probs {
			if p.field == "" || p.msg == "" || !strings.Contains(p.from, "f.json") {
				t.Fatalf("problem without field, message or source: %+v", p)
			}
		}
		var obj map[string]any
		if json.Unmarshal(data, &obj) != nil {
			if len(raw) != 0 && len(probs) == 0 {
				t.Fatalf("invalid JSON %q read as %v", data, raw)
			}
			return
		}
		for k, v := range raw {
			st, ok := lookupSetting(k)
			if !ok || st.secret {
				t.Fatalf("key %q read: unknown or secret", k)
			}
			if s, _ := obj[k].(string); s != v.v {
				t.Fatalf("key %q: read %q, the file says %#v", k, v.v, obj[k])
			}
		}
	})
}

func TestServeSettingsDocumented(t *testing.T) {
	t.Parallel()
	doc := readFile(t, "../../docs/configuration.md")
	r := run(t, "", "serve", "--help")
	for _, st := range serveSettings {
		for _, want := range []string{"`" + st.key + "`", "`" + st.envName() + "`"} {
			if !strings.Contains(doc, want) {
				t.Errorf("docs/configuration.md does not mention %s", want)
			}
		}
		if st.secret {
			if !strings.Contains(r.stdout, st.envName()) {
				t.Errorf("--help does not mention %s", st.envName())
			}
			continue
		}
		if !strings.Contains(doc, "`--"+st.flagName()+"`") {
			t.Errorf("docs/configuration.md does not mention --%s", st.flagName())
		}
		if !strings.Contains(r.stdout, "--"+st.flagName()+" ") || !strings.Contains(r.stdout, "env "+st.envName()) {
			t.Errorf("--help does not document --%s with %s", st.flagName(), st.envName())
		}
	}
}
