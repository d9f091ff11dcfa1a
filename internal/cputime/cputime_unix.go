//go:build unix

package cputime

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process returns the CPU time (user and system) this process has used
// so far, from getrusage; zero where it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Postgres returns the CPU time (user and system) used so far by the
// processes of this machine named postgres (a local server's backends),
// read from /proc; zero where there is none. It is counted in clock ticks
// of 10 ms per process, so it is for spans of seconds, and it counts
// every client's work on that server.
func Postgres() time.Duration {
	dirs, _ := os.ReadDir("/proc")
	var ticks int64
	for _, d := range dirs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.HasSuffix(s[:i], "(postgres") {
			continue
		}
		f := strings.Fields(s[i+1:]) // state is f[0]: utime is field 14 of stat, f[11]
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}
