//go:build unix

package cputime_test

import (
	"crypto/sha256"
	"testing"

	"zhifu/internal/cputime"
)

// TestProcessCounts checks that Process grows while this process works.
func TestProcessCounts(t *testing.T) {
	before := cputime.Process()
	if before <= 0 {
		t.Fatalf("Process() = %v at the start, want > 0", before)
	}
	sum := sha256.Sum256(nil)
	for cputime.Process() == before { // the clock's granularity, then some
		for range 10000 {
			sum = sha256.Sum256(sum[:])
		}
	}
	if after := cputime.Process(); after <= before {
		t.Fatalf("Process() went from %v to %v, want it to grow", before, after)
	}
}
