package benchload

import (
	"errors"
	"sync/atomic"
	"testing"
)

func TestParallelRunsEachOnce(t *testing.T) {
	const n = 1000
	var seen [n]atomic.Int32
	if err := Parallel(n, 7, func(i int) error { seen[i].Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if got := seen[i].Load(); got != 1 {
			t.Fatalf("fn(%d) ran %d times, want once", i, got)
		}
	}
}

func TestParallelStopsAtAnError(t *testing.T) {
	boom := errors.New("boom")
	var ran atomic.Int32
	err := Parallel(1_000_000, 4, func(i int) error {
		ran.Add(1)
		if i == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Parallel = %v, want boom", err)
	}
	if ran.Load() >= 1_000_000 {
		t.Fatal("the other workers did not stop after the error")
	}
}

func BenchmarkRawRateNothing(b *testing.B) {
	RawRate(b, "ops/s", func() error { return nil })
}
