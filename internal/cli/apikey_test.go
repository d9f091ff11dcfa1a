package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"zhifu/internal/testpg"
	"zhifu/payment"
	"zhifu/payment/postgresstore"
	"zhifu/payment/sqlitestore"
)

// runWithEnv runs Main in-process with args, reading the environment from
// env only.
func runWithEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := mainEnv(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// secretLine finds the secret in the output of zhifu apikey create.
var secretLine = regexp.MustCompile(`(?m)^  (zk_[a-z2-7]{16}_[a-z2-7]+)$`)

// keyStore is an API key store the test opened itself, beside the
// command's.
type keyStore interface {
	payment.APIKeyStore
	Close() error
}

func TestAPIKeySQLite(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "zhifu.db")
	open := func() keyStore {
		s, err := sqlitestore.Open(context.Background(), dbPath)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	open().Close() // as zhifu serve would have
	testAPIKeyLifecycle(t, nil, []string{"--database", dbPath}, open)
}

// TestAPIKeyMissingDatabase: a SQLite file that does not exist is zhifu
// serve's database looked for in the wrong place. list and revoke refuse
// it; create makes it, saying so.
func TestAPIKeyMissingDatabase(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "elsewhere.db")
	env := map[string]string{"ZHIFU_DATABASE": dbPath}
	for _, args := range [][]string{{"list"}, {"revoke", "aaaaaaaaaaaaaaaa"}} {
		r := runWithEnv(t, env, append([]string{"apikey"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "the SQLite database "+dbPath+" does not exist") || r.stdout != "" {
			t.Errorf("%s on a missing database: %v", args[0], r)
		}
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("list or revoke created the database: %v", err)
	}
	r := runWithEnv(t, env, "apikey", "create", "--name", "first")
	if r.code != 0 || !strings.Contains(r.stderr, "note: creating the SQLite database "+dbPath) || secretLine.FindString(r.stdout) == "" {
		t.Errorf("create on a missing database: %v", r)
	}
	if r := runWithEnv(t, env, "apikey", "list"); r.code != 0 || !strings.Contains(r.stdout, `"first"`) {
		t.Errorf("list after create: %v", r)
	}
}

func TestAPIKeyPostgres(t *testing.T) {
	t.Parallel()
	_, dsn := testpg.Schema(t)
	// The DSN from the environment, as a URL with a password would be.
	testAPIKeyLifecycle(t, map[string]string{"ZHIFU_DATABASE": dsn}, nil, func() keyStore {
		s, err := postgresstore.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// testAPIKeyLifecycle creates two keys, lists them, authenticates with
// one, revokes it, and checks the secret shows only once; dbArgs and env
// name the database, open opens it for the test's own checks.
func testAPIKeyLifecycle(t *testing.T, env map[string]string, dbArgs []string, open func() keyStore) {
	apikey := func(args ...string) result {
		t.Helper()
		return runWithEnv(t, env, append(append([]string{"apikey"}, args...), dbArgs...)...)
	}

	r := apikey("list")
	if r.code != 0 || !strings.Contains(r.stdout, "No API keys yet") {
		t.Fatalf("list of none: %v", r)
	}
	r = apikey("create", "--name", "shop backend")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("create: %v", r)
	}
	m := secretLine.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("create printed no secret line:\n%s", r.stdout)
	}
	secret := m[1]
	id, err := payment.APIKeyID(secret)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(r.stdout, secret); n != 1 {
		t.Errorf("create shows the secret %d times, want once:\n%s", n, r.stdout)
	}
	random := secret[len(payment.APIKeyPrefix)+len(id)+1:]
	if n := strings.Count(r.stdout, random); n != 1 {
		t.Errorf("create shows the secret's random part %d times, want once", n)
	}
	for _, want := range []string{"Created API key " + id, `"shop backend"`, "cannot be shown again", "zhifu apikey revoke " + id} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("create's output lacks %q:\n%s", want, r.stdout)
		}
	}
	r2 := apikey("create", "--name", "回调 worker")
	if r2.code != 0 {
		t.Fatalf("second create: %v", r2)
	}
	secret2 := secretLine.FindStringSubmatch(r2.stdout)[1]
	id2, _ := payment.APIKeyID(secret2)

	list := apikey("list")
	if list.code != 0 || list.stderr != "" {
		t.Fatalf("list: %v", list)
	}
	lines := strings.Split(strings.TrimSpace(list.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("list: want a header and two keys:\n%s", list.stdout)
	}
	for i, want := range [][]string{{id, `"shop backend"`, "zk_" + id + "_…"}, {id2, `"回调 worker"`, "zk_" + id2 + "_…"}} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("list line %d lacks %q: %s", i+1, w, lines[i+1])
			}
		}
		if !strings.HasSuffix(lines[i+1], " -") {
			t.Errorf("list line %d: a valid key shows a revocation: %s", i+1, lines[i+1])
		}
	}

	// The secret authenticates.
	s := open()
	defer s.Close()
	ctx := t.Context()
	if k, err := payment.Authenticate(ctx, s, secret); err != nil || k.ID != id || k.Name != "shop backend" {
		t.Fatalf("Authenticate before revoking: %+v %v", k, err)
	}

	r = apikey("revoke", id)
	if r.code != 0 || !strings.Contains(r.stdout, "Revoked the API key "+id) {
		t.Fatalf("revoke: %v", r)
	}
	if _, err := payment.Authenticate(ctx, s, secret); !errors.Is(err, payment.ErrRevoked) {
		t.Errorf("Authenticate after revoking: %v, want ErrRevoked", err)
	}
	if _, err := payment.Authenticate(ctx, s, secret2); err != nil {
		t.Errorf("the other key no longer authenticates: %v", err)
	}
	before, err := s.GetAPIKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}

	// Twice, and unknown: a clear message, exit 1, nothing changed. The
	// id comes after a flag here: both orders work.
	r = runWithEnv(t, env, append(append([]string{"apikey", "revoke"}, dbArgs...), id)...)
	if r.code != 1 || !strings.Contains(r.stderr, "revoked already") || r.stdout != "" {
		t.Errorf("revoking twice: %v", r)
	}
	if after, _ := s.GetAPIKey(ctx, id); !after.RevokedAt.Equal(before.RevokedAt) {
		t.Errorf("revoking twice moved RevokedAt from %v to %v", before.RevokedAt, after.RevokedAt)
	}
	r = apikey("revoke", "aaaaaaaaaaaaaaaa")
	if r.code != 1 || !strings.Contains(r.stderr, `no API key has the id "aaaaaaaaaaaaaaaa"`) {
		t.Errorf("revoking an unknown key: %v", r)
	}

	list = apikey("list")
	lines = strings.Split(strings.TrimSpace(list.stdout), "\n")
	if list.code != 0 || len(lines) != 3 || strings.HasSuffix(lines[1], " -") || !strings.HasSuffix(lines[2], " -") {
		t.Errorf("list after revoking the first key:\n%s", list.stdout)
	}
	if !strings.Contains(lines[1], formatKeyTime(before.RevokedAt)) {
		t.Errorf("list does not show when %s was revoked (%s): %s", id, formatKeyTime(before.RevokedAt), lines[1])
	}
	for _, out := range []string{list.stdout + list.stderr, r.stdout + r.stderr} {
		for _, sec := range []string{secret, secret2, random, secret2[len(secret2)-20:]} {
			if strings.Contains(out, sec) {
				t.Errorf("output shows a secret:\n%s", out)
			}
		}
	}
}

// TestAPIKeyConfigFile finds the database in zhifu serve's config file,
// whose settings apikey does not use are not its concern.
func TestAPIKeyConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "from-config.db")
	file := writeFile(t, dir, "zhifu.json", `{"database": "`+dbPath+`", "app_private_key_file": "/nonexistent/key.pem", "listen": "nonsense", "webhook_url": "https://shop.example.com/hook"}`)
	r := runWithEnv(t, map[string]string{"ZHIFU_CONFIG": file}, "apikey", "create", "--name", "from config")
	if r.code != 0 {
		t.Fatalf("create with a config file: %v", r)
	}
	if _, err := os.Stat(dbPath); err != nil {
		t.Errorf("the config file's database was not used: %v", err)
	}
	r = runWithEnv(t, nil, "apikey", "list", "--config", file)
	if r.code != 0 || !strings.Contains(r.stdout, `"from config"`) {
		t.Errorf("list with --config: %v", r)
	}
	// A mistake of the config file itself is still one.
	bad := writeFile(t, dir, "bad.json", `{"databse": "x.db"}`)
	r = runWithEnv(t, nil, "apikey", "list", "--config", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "databse") || !strings.Contains(r.stderr, "unknown key") {
		t.Errorf("a misspelt key: %v", r)
	}
}

func TestAPIKeyBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "untouched.db")
	pasted := "zk_aaaaaaaaaaaaaaaa_" + strings.Repeat("b", 52)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"create without name", []string{"create"}, 2, "--name is required"},
		{"create empty name", []string{"create", "--name", "  "}, 2, "--name is required"},
		{"create long name", []string{"create", "--name", strings.Repeat("x", payment.MaxAPIKeyNameLen+1)}, 2, "100 characters or fewer"},
		{"create control character", []string{"create", "--name", "a\nb"}, 2, "without control characters"},
		{"create positional", []string{"create", "--name", "x", "extra"}, 2, `unexpected argument "extra"`},
		{"list positional", []string{"list", "extra"}, 2, `unexpected argument "extra"`},
		{"revoke without id", []string{"revoke"}, 2, "name the key to revoke by its id"},
		{"revoke two ids", []string{"revoke", "a", "b"}, 2, "one key at a time"},
		{"revoke a secret", []string{"revoke", pasted}, 2, "looks like a key's secret"},
		{"unknown flag", []string{"list", "--nope"}, 2, "flag provided but not defined: -nope"},
		{"bad database", []string{"list", "--database", "mysql://db/zhifu"}, 1, `the scheme "mysql" is not supported`},
		{"sqlite URI", []string{"create", "--name", "x", "--database", "file:x.db?mode=memory"}, 1, "not a plain file path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"apikey"}, tt.args...)
			r := runWithEnv(t, map[string]string{"ZHIFU_DATABASE": dbPath}, args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Errorf("want exit %d and %q on stderr: %v", tt.code, tt.want, r)
			}
			if strings.Contains(r.stderr, pasted) {
				t.Errorf("a pasted secret is repeated: %s", r.stderr)
			}
		})
	}
	t.Cleanup(func() {
		if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("bad command lines created the database: %v", err)
		}
	})
}
