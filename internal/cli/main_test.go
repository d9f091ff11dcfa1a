package cli

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind: the services',
// the stores', the jobs', the servers'.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
