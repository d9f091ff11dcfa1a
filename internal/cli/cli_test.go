package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The keys and vectors in ../../alipay/testdata were produced with Alipay's
// official Node SDK and synthetic test keys (see VECTORS.md there); they
// are never used for anything real.
const testdata = "../../alipay/testdata"

// result is what one in-process run of Main produced.
type result struct {
	code           int
	stdout, stderr string
}

// run runs Main in-process with args and stdin.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func keyPath(name string) string { return filepath.Join(testdata, "keys", name) }

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadVectors(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readTestdata(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	commandList := []string{"help"}
	for _, c := range commands() {
		commandList = append(commandList, c.name)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings
		stderr     []string
		noStdout   bool
		stdoutLead string
	}{
		{name: "no command", args: nil, code: 2, stderr: commandList, noStdout: true},
		{name: "help", args: []string{"help"}, code: 0, stdout: commandList},
		{name: "--help", args: []string{"--help"}, code: 0, stdout: commandList},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: commandList},
		{name: "help keys", args: []string{"help", "keys"}, code: 0, stdout: []string{"generate", "convert"}},
		{name: "help version", args: []string{"help", "version"}, code: 0, stdoutLead: "Usage: zhifu version"},
		{name: "help keys generate", args: []string{"help", "keys", "generate"}, code: 0, stdoutLead: "Usage: zhifu keys generate "},
		{name: "keys help convert", args: []string{"keys", "help", "convert"}, code: 0, stdoutLead: "Usage: zhifu keys convert "},
		{name: "unknown command", args: []string{"nope"}, code: 2, stderr: append([]string{`unknown command "nope"`}, commandList...), noStdout: true},
		{name: "unknown flag first", args: []string{"--nope"}, code: 2, stderr: []string{"unknown flag --nope"}, noStdout: true},
		{name: "help unknown", args: []string{"help", "nope"}, code: 2, stderr: []string{`unknown command "nope"`}, noStdout: true},
		{name: "group alone", args: []string{"keys"}, code: 2, stderr: []string{"generate", "convert"}, noStdout: true},
		{name: "unknown subcommand", args: []string{"keys", "rotate"}, code: 2, stderr: []string{`zhifu keys: unknown command "rotate"`}, noStdout: true},
		{name: "unknown flag", args: []string{"keys", "convert", "--bogus"}, code: 2, stderr: []string{"zhifu keys convert: flag provided but not defined: -bogus", "zhifu keys convert --help"}, noStdout: true},
		{name: "positional argument", args: []string{"keys", "generate", "--out", "k", "extra"}, code: 2, stderr: []string{`unexpected argument "extra"`}, noStdout: true},
		{name: "missing required flag", args: []string{"keys", "convert", "--in", "k"}, code: 2, stderr: []string{"--to is required"}, noStdout: true},
		{name: "version", args: []string{"version"}, code: 0, stdoutLead: "zhifu "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, "", tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%v", r.code, tt.code, r)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q\n%v", s, r)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q\n%v", s, r)
				}
			}
			if tt.noStdout && r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if !strings.HasPrefix(r.stdout, tt.stdoutLead) {
				t.Errorf("stdout does not start with %q\n%v", tt.stdoutLead, r)
			}
		})
	}
}

// TestHelpOnEveryCommand runs --help on every command and checks that each
// flag is documented.
func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	var walk func(path []string, cmds []*command)
	walk = func(path []string, cmds []*command) {
		for _, c := range cmds {
			p := append(path[:len(path):len(path)], c.name)
			if c.sub != nil {
				walk(p, c.sub)
			}
			t.Run(strings.Join(p, " "), func(t *testing.T) {
				t.Parallel()
				r := run(t, "", append(p[:len(p):len(p)], "--help")...)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("--help: %v", r)
				}
				if c.sub != nil {
					for _, sub := range c.sub {
						if !strings.Contains(r.stdout, sub.name+"  ") {
							t.Errorf("help lacks subcommand %s:\n%s", sub.name, r.stdout)
						}
					}
					return
				}
				if !strings.HasPrefix(r.stdout, "Usage: zhifu "+strings.Join(p, " ")) {
					t.Errorf("help does not start with its usage line:\n%s", r.stdout)
				}
				checkFlagsDocumented(t, r.stdout)
			})
		}
	}
	walk(nil, commands())
}

// checkFlagsDocumented checks that every flag line of a help text is
// followed by a line documenting it.
func checkFlagsDocumented(t *testing.T, help string) {
	t.Helper()
	_, flags, ok := strings.Cut(help, "\nFlags:\n")
	if !ok {
		t.Fatalf("help has no Flags section:\n%s", help)
	}
	sc := bufio.NewScanner(strings.NewReader(flags))
	var flag string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "  -"):
			if flag != "" {
				t.Errorf("flag %q has no documentation", flag)
			}
			flag = strings.TrimSpace(line)
		case strings.HasPrefix(line, "      ") && strings.TrimSpace(line) != "":
			flag = ""
		}
	}
	if flag != "" {
		t.Errorf("flag %q has no documentation", flag)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := run(t, "", "version")
	// A test binary has no module version: the fallback shows.
	if r.code != 0 || !strings.HasPrefix(r.stdout, "zhifu (devel)") || !strings.HasSuffix(r.stdout, "\n") {
		t.Errorf("version: %v", r)
	}
}
