//go:build !unix

package payment_test

import "time"

// processCPU is zero where getrusage is not available: the benchmarks then
// report no cpu-ns/op.
func processCPU() time.Duration { return 0 }

// postgresCPU is zero where /proc is not available.
func postgresCPU() time.Duration { return 0 }
