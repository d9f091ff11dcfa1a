package alipay

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkOutTradeNo checks the form of one out_trade_no.
func checkOutTradeNo(t *testing.T, no string) {
	t.Helper()
	if len(no) != 33 {
		t.Fatalf("out_trade_no %q has %d characters; want 33", no, len(no))
	}
	for i := range len(no) {
		c := no[i]
		if i < tradeNoTimeLen && !isDigit(c) || !strings.ContainsRune(crockford, rune(c)) {
			t.Fatalf("out_trade_no %q has %q at offset %d", no, c, i)
		}
	}
}

// tradeNoTime returns the time part of an out_trade_no.
func tradeNoTime(t *testing.T, no string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("20060102150405.000", no[:14]+"."+no[14:17], beijing)
	if err != nil {
		t.Fatalf("time part of out_trade_no %q: %v", no, err)
	}
	return tm
}

func TestNewOutTradeNo(t *testing.T) {
	t.Parallel()
	before := time.Now().Truncate(time.Millisecond)
	no := NewOutTradeNo()
	after := time.Now()
	checkOutTradeNo(t, no)
	// The time part is at least the clock before the call; it is never
	// ahead of the clock by more than the sequence overflows of the other
	// tests running in parallel can have pushed it.
	if got := tradeNoTime(t, no); got.Before(before) || got.After(after.Add(time.Second)) {
		t.Errorf("time part of %q is %v; want within [%v, %v]", no, got, before, after)
	}
	// The generator's charset is what Alipay allows in out_trade_no.
	for _, c := range crockford {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_') {
			t.Errorf("alphabet has %q, which out_trade_no does not allow", c)
		}
	}
}

func TestNewOutTradeNoTimeIsBeijing(t *testing.T) {
	t.Parallel()
	var g tradeNoSource
	now := time.Date(2024, 5, 20, 4, 34, 56, 789_654_321, time.UTC)
	no := g.next(now)
	if want := "20240520123456789000"; !strings.HasPrefix(no, want) {
		t.Errorf("next(%v) = %q; want prefix %s", now, no, want)
	}
}

func TestNewOutTradeNoUniqueSorted(t *testing.T) {
	t.Parallel()
	const n = 100_000
	nos := make([]string, n)
	for i := range nos {
		nos[i] = NewOutTradeNo()
	}
	for i, no := range nos {
		checkOutTradeNo(t, no)
		if i > 0 && no <= nos[i-1] {
			t.Fatalf("out_trade_no %d %q is not greater than the one before, %q", i, no, nos[i-1])
		}
	}
}

func TestNewOutTradeNoConcurrent(t *testing.T) {
	t.Parallel()
	const goroutines, each = 8, 20_000
	results := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			nos := make([]string, each)
			for i := range nos {
				nos[i] = NewOutTradeNo()
			}
			results[g] = nos
		})
	}
	wg.Wait()
	seen := make(map[string]bool, goroutines*each)
	for _, nos := range results {
		if !slices.IsSorted(nos) {
			t.Error("one goroutine's out_trade_nos are not in increasing order")
		}
		for _, no := range nos {
			if seen[no] {
				t.Fatalf("out_trade_no %q made twice", no)
			}
			seen[no] = true
		}
	}
}

func TestTradeNoSourceClock(t *testing.T) {
	t.Parallel()
	base := time.Date(2024, 5, 20, 4, 34, 56, 789_000_000, time.UTC)
	tests := []struct {
		name   string
		clocks []time.Time
		want   []string // prefix: time and sequence parts
	}{
		{
			name:   "same millisecond",
			clocks: []time.Time{base, base, base.Add(999 * time.Microsecond)},
			want:   []string{"20240520123456789000", "20240520123456789001", "20240520123456789002"},
		},
		{
			name:   "next millisecond restarts the sequence",
			clocks: []time.Time{base, base, base.Add(time.Millisecond)},
			want:   []string{"20240520123456789000", "20240520123456789001", "20240520123456790000"},
		},
		{
			name:   "clock steps back",
			clocks: []time.Time{base, base.Add(-time.Hour), base.Add(-time.Second), base.Add(time.Second)},
			want:   []string{"20240520123456789000", "20240520123456789001", "20240520123456789002", "20240520123457789000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var g tradeNoSource
			for i, now := range tt.clocks {
				if got := g.next(now); !strings.HasPrefix(got, tt.want[i]) {
					t.Errorf("call %d at %v = %q; want prefix %s", i, now, got, tt.want[i])
				}
			}
		})
	}
}

func TestTradeNoSourceSequenceOverflow(t *testing.T) {
	t.Parallel()
	var g tradeNoSource
	now := time.Date(2024, 5, 20, 4, 34, 56, 789_000_000, time.UTC)
	prev := ""
	for i := range tradeNoSeqMax + 2 {
		no := g.next(now)
		checkOutTradeNo(t, no)
		if no <= prev {
			t.Fatalf("number %d %q is not greater than %q", i, no, prev)
		}
		prev = no
		switch i {
		case tradeNoSeqMax - 1:
			if want := "20240520123456789ZZZ"; !strings.HasPrefix(no, want) {
				t.Fatalf("last number of the millisecond = %q; want prefix %s", no, want)
			}
		case tradeNoSeqMax:
			if want := "20240520123456790000"; !strings.HasPrefix(no, want) {
				t.Fatalf("first number after the overflow = %q; want prefix %s", no, want)
			}
		}
	}
	// The clock catching up continues after the borrowed millisecond.
	if no, want := g.next(now.Add(time.Millisecond)), "20240520123456790002"; !strings.HasPrefix(no, want) {
		t.Errorf("next after the overflow = %q; want prefix %s", no, want)
	}
}

func TestAppendDigits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, width int
		want     string
	}{
		{0, 1, "0"},
		{7, 3, "007"},
		{2024, 4, "2024"},
		{12345, 4, "2345"},
		{59, 2, "59"},
	}
	for _, tt := range tests {
		if got := string(appendDigits([]byte("x"), tt.n, tt.width)); got != "x"+tt.want {
			t.Errorf("appendDigits(x, %d, %d) = %q; want %q", tt.n, tt.width, got, "x"+tt.want)
		}
	}
}

func BenchmarkNewOutTradeNo(b *testing.B) {
	for b.Loop() {
		NewOutTradeNo()
	}
}
