// Package cputime measures the CPU a span of a benchmark used: this
// process's CPU time ([Process]), the local PostgreSQL server's
// ([Postgres]), and where this process spent it ([StartProfile]).
//
// Wall-clock rates are noisy on a shared machine; the CPU time per
// operation is what a neighbour's load does not move. The benchmarks of
// the payment service and of the JSON API use it; it imports nothing of zhifu.
package cputime

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// ProfileEnv names the environment variable that, when set to a
// directory, makes [StartProfile] write a CPU profile there.
const ProfileEnv = "ZHIFU_BENCH_PROFILE"

// StartProfile starts a CPU profile of the span until the returned stop
// is called, written to name.pprof in the directory ZHIFU_BENCH_PROFILE
// names; without it, it does nothing. Profiling only the timed span
// (rather than with -test.cpuprofile) keeps a benchmark's untimed setup
// out of the profile. stop returns the error of writing the file.
func StartProfile(name string) (stop func() error, err error) {
	dir := os.Getenv(ProfileEnv)
	if dir == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		return nil, fmt.Errorf("cputime: %s: %w", ProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cputime: %s: %w (is -test.cpuprofile set too?)", ProfileEnv, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cputime: %s: %w", ProfileEnv, err)
		}
		return nil
	}, nil
}
