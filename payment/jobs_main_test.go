package payment_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind: the jobs' River
// clients, the stores' commit queue and pools.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
