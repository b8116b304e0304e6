package tasktype

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Retry is a task's retry policy: whether and when a failed run of one
// fire is tried again. Each attempt is a new process with its own row and
// log; the fire's workflow waits between attempts on a durable timer.
type Retry struct {
	// Max is how many attempts may follow the first (0: none).
	Max int `json:",omitempty"`
	// Delay is the wait before the first retry; each later wait is Backoff
	// times the one before, at most MaxDelay.
	Delay    time.Duration `json:",omitempty"`
	Backoff  float64       `json:",omitempty"`
	MaxDelay time.Duration `json:",omitempty"`
	// On lists the exit codes a failed run is retried for, as codes and
	// ranges ("1-99,137"); "" retries every failed run.
	On string `json:",omitempty"`
	// TimedOut and Lost say whether a run that passed its timeout, or
	// was lost with its worker, is retried too. A run killed on request
	// never is.
	TimedOut bool `json:",omitempty"`
	Lost     bool `json:",omitempty"`
}

// The retry defaults: a task retries nothing; when it does, the first wait
// is a minute, doubling, at most an hour.
const (
	DefaultRetryDelay    = time.Minute
	DefaultRetryBackoff  = 2.0
	DefaultRetryMaxDelay = time.Hour
	// MaxRetries bounds Retry.Max.
	MaxRetries = 100
	// MaxRetryDelay bounds Retry.Delay and Retry.MaxDelay.
	MaxRetryDelay = 24 * time.Hour
)

// WithDefaults fills in the unset waits and backoff with the defaults.
func (r Retry) WithDefaults() Retry {
	if r.Delay == 0 {
		r.Delay = DefaultRetryDelay
	}
	if r.Backoff == 0 {
		r.Backoff = DefaultRetryBackoff
	}
	if r.MaxDelay == 0 {
		r.MaxDelay = max(DefaultRetryMaxDelay, r.Delay)
	}
	return r
}

// Validate checks the policy's bounds and its exit codes.
func (r Retry) Validate() error {
	switch {
	case r.Max < 0 || r.Max > MaxRetries:
		return fmt.Errorf("retry_max %d: want 0 to %d", r.Max, MaxRetries)
	case r.Delay < time.Second || r.Delay > MaxRetryDelay:
		return fmt.Errorf("retry_delay %s: want 1 s to %s", r.Delay, MaxRetryDelay)
	case r.MaxDelay < r.Delay || r.MaxDelay > MaxRetryDelay:
		return fmt.Errorf("retry_delay_max %s: want retry_delay (%s) to %s", r.MaxDelay, r.Delay, MaxRetryDelay)
	case math.IsNaN(r.Backoff) || r.Backoff < 1 || r.Backoff > 10:
		return fmt.Errorf("retry_backoff %g: want 1 (a fixed wait) to 10", r.Backoff)
	}
	_, err := ParseExitCodes(r.On)
	return err
}

// Wants reports whether a run that ended so deserves another attempt
// under the policy (not counting how many were made).
func (r Retry) Wants(status RunStatus, exitCode int) bool {
	switch status {
	case RunFailed:
		codes, err := ParseExitCodes(r.On)
		return err == nil && codes.Contains(exitCode)
	case RunTimedOut:
		return r.TimedOut
	case RunLost:
		return r.Lost
	default:
		return false
	}
}

// Wait is the wait after attempt n (1 for the first run) before the next:
// Delay × Backoff^(n-1), at most MaxDelay.
func (r Retry) Wait(n int) time.Duration {
	w := float64(r.Delay) * math.Pow(r.Backoff, float64(max(n-1, 0)))
	if w >= float64(r.MaxDelay) || math.IsInf(w, 0) {
		return r.MaxDelay
	}
	return time.Duration(w)
}

// Waits is the sum of every wait the policy can make: what a fire's
// workflow may spend between attempts.
func (r Retry) Waits() time.Duration {
	var sum time.Duration
	for n := 1; n <= r.Max; n++ {
		sum += r.Wait(n)
	}
	return sum
}

// ExitCodes is a set of exit codes given as ranges; empty means any.
type ExitCodes [][2]int

// Contains reports whether code is in the set (any code when it is empty).
func (c ExitCodes) Contains(code int) bool {
	if len(c) == 0 {
		return true
	}
	for _, r := range c {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

// String writes the set as ParseExitCodes reads it: "1-99,137".
func (c ExitCodes) String() string {
	parts := make([]string, len(c))
	for i, r := range c {
		parts[i] = strconv.Itoa(r[0])
		if r[1] != r[0] {
			parts[i] += "-" + strconv.Itoa(r[1])
		}
	}
	return strings.Join(parts, ",")
}

// ParseExitCodes reads "1-99,137" (codes and ranges of 0–255, separated by
// commas); "" is the empty set, meaning any code.
func ParseExitCodes(s string) (ExitCodes, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out ExitCodes
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := exitCode(lo)
		if err != nil {
			return nil, fmt.Errorf("retry_on %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = exitCode(hi); err != nil {
				return nil, fmt.Errorf("retry_on %q: %w", s, err)
			}
			if b < a {
				return nil, fmt.Errorf("retry_on %q: range %d-%d runs backwards", s, a, b)
			}
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}

func exitCode(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("%q is not an exit code (0-255)", s)
	}
	return n, nil
}
