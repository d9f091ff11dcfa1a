// Package benchload runs the load of the repository's benchmarks: work
// spread over a number of goroutines (Parallel), and the raw rate of one
// operation on every CPU (RawRate), the baseline the payment service's
// and the JSON API's rates are put beside.
package benchload

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhifu/internal/cputime"
)

// Parallel runs fn(i) for i in 0..n-1 on workers goroutines and returns
// the first error; an error stops the other workers taking more.
func Parallel(n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// RawRate runs op b.N times in all on one goroutine per GOMAXPROCS and
// reports the rate as unit (for example "signs/s") and this process's CPU
// time per op as cpu-ns/op.
func RawRate(b *testing.B, unit string, op func() error) {
	runtime.GC()
	cpu0 := cputime.Process()
	b.ResetTimer()
	start := time.Now()
	err := Parallel(b.N, runtime.GOMAXPROCS(0), func(int) error { return op() })
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := cputime.Process() - cpu0
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), unit)
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
