package alipay

import (
	"crypto/rand"
	"sync"
	"time"
)

// NewOutTradeNo returns a new out_trade_no, the merchant's number for a
// trade. Use a fresh one for every payment attempt: Alipay refuses a number
// it has seen with different parameters.
//
// The number has 33 characters, digits and capital letters:
//
//	20240520123456789 000 7QF3M9XZ2A1BC
//	|                 |   |
//	|                 |   random: 13 characters, 65 bits from crypto/rand
//	|                 sequence within the millisecond: 3 characters
//	Beijing time to the millisecond, yyyyMMddHHmmssSSS: 17 digits
//
// (without the spaces). The sequence and random characters are from
// Crockford's base 32 alphabet, 0-9 and A-Z without I, L, O and U, which is
// in ASCII order, has no lower case (the numbers stay distinct under a
// case-insensitive database collation) and no letters easily misread.
//
// The numbers one process makes sort, as strings, in the order they were
// made, also within one millisecond and when the wall clock steps back: the
// time part never goes below the last one used, and the sequence counts the
// numbers made with the same time part. After 32768 numbers in one
// millisecond the time part moves on by a millisecond. Numbers from
// different processes are kept apart by the random part.
//
// NewOutTradeNo is safe for concurrent use.
func NewOutTradeNo() string {
	return outTradeNos.next(time.Now())
}

// outTradeNos is the state of NewOutTradeNo.
var outTradeNos tradeNoSource

// crockford is Crockford's base 32 alphabet, in ASCII order.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

const (
	tradeNoTimeLen = len("20060102150405000")
	tradeNoSeqLen  = 3
	tradeNoRandLen = 13
	tradeNoLen     = tradeNoTimeLen + tradeNoSeqLen + tradeNoRandLen

	// tradeNoSeqMax is the number of sequence values in one millisecond.
	tradeNoSeqMax = 1 << (5 * tradeNoSeqLen)
)

// tradeNoSource makes increasing out_trade_nos.
type tradeNoSource struct {
	mu  sync.Mutex
	ms  int64 // time part of the last number, in Unix milliseconds
	seq int   // sequence part of the last number
}

// next returns a new number for the wall clock reading now.
func (g *tradeNoSource) next(now time.Time) string {
	ms, seq := g.reserve(now.UnixMilli())
	t := time.UnixMilli(ms).In(beijing)
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()

	var buf [tradeNoLen]byte
	b := appendDigits(buf[:0], year, 4)
	b = appendDigits(b, int(month), 2)
	b = appendDigits(b, day, 2)
	b = appendDigits(b, hour, 2)
	b = appendDigits(b, minute, 2)
	b = appendDigits(b, sec, 2)
	b = appendDigits(b, t.Nanosecond()/1e6, 3)
	for i := tradeNoSeqLen - 1; i >= 0; i-- {
		b = append(b, crockford[seq>>(5*i)&31])
	}
	var random [tradeNoRandLen]byte
	rand.Read(random[:]) // never fails, and fills random (since Go 1.24)
	for _, r := range random {
		b = append(b, crockford[r&31]) // 32 divides 256: no bias
	}
	return string(b)
}

// reserve returns the time and sequence parts of the next number, given
// the wall clock in Unix milliseconds; each pair is greater than the last.
func (g *tradeNoSource) reserve(now int64) (ms int64, seq int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case now > g.ms:
		g.ms, g.seq = now, 0
	case g.seq+1 < tradeNoSeqMax:
		g.seq++
	default:
		g.ms, g.seq = g.ms+1, 0
	}
	return g.ms, g.seq
}

// appendDigits appends the last width decimal digits of n, which must not
// be negative, with leading zeros.
func appendDigits(b []byte, n, width int) []byte {
	d := 1
	for range width - 1 {
		d *= 10
	}
	for ; d > 0; d /= 10 {
		b = append(b, byte('0'+n/d%10))
	}
	return b
}
