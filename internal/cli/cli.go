// Package cli is the zhifu command line. Main dispatches to the
// subcommands, one file each; cmd/zhifu only calls Main.
//
// Every command reads stdin and writes stdout and stderr through the
// streams Main was given, so tests run it in-process. Exit codes: 0 success,
// 1 the command ran and failed (a signature that does not verify, a file
// that cannot be written), 2 a bad command line.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes of Main.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// streams are the standard streams a command reads and writes, and the
// environment it reads.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// getenv reads an environment variable: os.Getenv, or a test's own.
	getenv func(key string) string
}

// command is a zhifu subcommand (sign) or a group of them (keys).
type command struct {
	name    string
	summary string // one line, shown in the command list
	// run executes a leaf command with the arguments after its name.
	run func(ctx context.Context, s *streams, args []string) int
	// sub lists the commands of a group, in the order help shows them.
	sub []*command
}

// commands lists zhifu's subcommands in the order help shows them. Adding
// one is a file that defines it and one line here.
func commands() []*command {
	return []*command{
		keysCommand(),
		signCommand(),
		verifyCommand(),
		sandboxCommand(),
		demoCommand(),
		serveCommand(),
		apikeyCommand(),
		reconcileCommand(),
		versionCommand(),
	}
}

// Main runs the zhifu command line with args (without the program name)
// and returns the process exit code: 0 on success, 1 when the command
// failed, 2 on a usage error, and for zhifu reconcile 3 when the bill and
// the database differ.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return mainEnv(ctx, args, os.Getenv, stdin, stdout, stderr)
}

// mainEnv is Main reading the environment through getenv.
func mainEnv(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := &command{name: "zhifu", sub: commands()}
	return root.dispatch(ctx, &streams{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}, "zhifu", args)
}

// dispatch runs c, named path on the command line, with args.
func (c *command) dispatch(ctx context.Context, s *streams, path string, args []string) int {
	if c.run != nil {
		return c.run(ctx, s, args)
	}
	if len(args) == 0 {
		c.printList(s.stderr, path)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		c.printList(s.stdout, path)
		return exitOK
	case "help":
		// "help CMD SUB" is "CMD SUB --help"; a bare "help" lists the commands.
		return c.dispatch(ctx, s, path, append(args[1:len(args):len(args)], "--help"))
	}
	for _, sub := range c.sub {
		if sub.name == args[0] {
			return sub.dispatch(ctx, s, path+" "+sub.name, args[1:])
		}
	}
	if strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(s.stderr, "%s: unknown flag %s: flags go after the command name\n\n", path, args[0])
	} else {
		fmt.Fprintf(s.stderr, "%s: unknown command %q\n\n", path, args[0])
	}
	c.printList(s.stderr, path)
	return exitUsage
}

// printList prints the usage of a group: its commands with their summaries.
func (c *command) printList(w io.Writer, path string) {
	if path == "zhifu" {
		fmt.Fprint(w, "zhifu takes Alipay (支付宝) payments: a payment service with a JSON API, webhooks and admin pages, a local Alipay sandbox to run and test the whole flow, a demo shop, and tools for keys and signatures.\n\n")
	}
	fmt.Fprintf(w, "Usage:\n  %s <command> [flags]\n\nCommands:\n", path)
	width := len("help")
	for _, sub := range c.sub {
		width = max(width, len(sub.name))
	}
	for _, sub := range c.sub {
		fmt.Fprintf(w, "  %-*s  %s\n", width, sub.name, sub.summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, "help", "show the help of a command")
	fmt.Fprintf(w, "\nRun '%s help <command>' or '%s <command> --help' for its flags.\n", path, path)
}

// flagSet is the flags of a leaf command and its help text.
type flagSet struct {
	*flag.FlagSet
	path string // "zhifu keys generate"
	help string // synopsis and description; the flags are listed after it
}

// newFlagSet returns an empty flag set for the command named path, whose
// --help prints help followed by the flags.
func newFlagSet(path, help string) *flagSet {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse reports errors itself
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, path: path, help: help}
}

// parse parses args. When done is true the command must return code at
// once: --help was printed (0), or the command line was wrong (2). A
// command takes no positional arguments.
func (f *flagSet) parse(s *streams, args []string) (code int, done bool) {
	err := f.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.printHelp(s.stdout)
		return exitOK, true
	case err != nil:
		return f.usageError(s, "%v", err), true
	case f.NArg() > 0:
		return f.usageError(s, "unexpected argument %q (this command reads its input from stdin and flags)", f.Arg(0)), true
	}
	return exitOK, false
}

// usageError reports a bad command line and returns exitUsage.
func (f *flagSet) usageError(s *streams, format string, a ...any) int {
	fmt.Fprintf(s.stderr, "%s: %s\nRun '%s --help' for usage.\n", f.path, fmt.Sprintf(format, a...), f.path)
	return exitUsage
}

// printHelp writes the help text and every flag with its documentation.
func (f *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nFlags:\n", strings.TrimSpace(f.help))
	f.VisitAll(func(fl *flag.Flag) {
		arg, usage := flag.UnquoteUsage(fl)
		dashes := "--"
		if len(fl.Name) == 1 {
			dashes = "-"
		}
		head := "  " + dashes + fl.Name
		if arg != "" {
			head += " " + arg
		}
		if fl.DefValue != "" && fl.DefValue != "false" {
			usage += fmt.Sprintf(" (default %s)", fl.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s\n", head, usage)
	})
	fmt.Fprintf(w, "  -h, --help\n      show this help\n")
}
