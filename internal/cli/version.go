package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version of zhifu",
		run:     runVersion,
	}
}

func runVersion(_ context.Context, s *streams, args []string) int {
	f := newFlagSet("zhifu version", `
Usage: zhifu version

Prints the module version zhifu was built from ("(devel)" for a build from a
source checkout), the VCS revision when the build recorded one, and the Go
version.`)
	if code, done := f.parse(s, args); done {
		return code
	}
	fmt.Fprintln(s.stdout, versionString())
	return exitOK
}

// versionString is "zhifu VERSION [(REVISION[, modified])] GOVERSION".
func versionString() string {
	version, rev, modified := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" {
			version = v
		}
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				modified = kv.Value == "true"
			}
		}
	}
	s := "zhifu " + version
	if rev != "" {
		s += " (" + rev[:min(len(rev), 12)]
		if modified {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + runtime.Version()
}
