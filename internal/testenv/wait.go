package testenv

import (
	"testing"
	"time"
)

// Eventually calls cond every 50ms until it returns "" or timeout passes,
// then fails the test with the last thing cond said it saw.
func Eventually(t testing.TB, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if last = cond(); last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %s", timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
