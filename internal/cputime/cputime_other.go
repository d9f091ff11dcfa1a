//go:build !unix

package cputime

import "time"

// Process is zero where getrusage is not available: benchmarks then
// report no CPU per op.
func Process() time.Duration { return 0 }

// Postgres is zero where /proc is not available.
func Postgres() time.Duration { return 0 }
