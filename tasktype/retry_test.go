package tasktype

import (
	"strings"
	"testing"
	"time"
)

func TestRetryWantsOnlyWhatThePolicyNames(t *testing.T) {
	tests := []struct {
		name   string
		policy Retry
		status RunStatus
		code   int
		want   bool
	}{
		{"any failure by default", Retry{}, RunFailed, 1, true},
		{"a listed code", Retry{On: "1-99,137"}, RunFailed, 137, true},
		{"inside a range", Retry{On: "1-99,137"}, RunFailed, 42, true},
		{"an unlisted code", Retry{On: "1-99,137"}, RunFailed, 100, false},
		{"never a kill on request", Retry{On: "", TimedOut: true, Lost: true}, RunKilled, ExitKilled, false},
		{"never a success", Retry{}, RunSucceeded, 0, false},
		{"timed out only when said", Retry{}, RunTimedOut, ExitTimedOut, false},
		{"timed out when said", Retry{TimedOut: true}, RunTimedOut, ExitTimedOut, true},
		{"lost only when said", Retry{}, RunLost, ExitLost, false},
		{"lost when said", Retry{Lost: true}, RunLost, ExitLost, true},
	}
	for _, tt := range tests {
		if got := tt.policy.Wants(tt.status, tt.code); got != tt.want {
			t.Errorf("%s: Wants(%s, %d) = %v, want %v", tt.name, tt.status, tt.code, got, tt.want)
		}
	}
}

func TestRetryWaitsGrowByTheBackoffUpToTheCap(t *testing.T) {
	r := Retry{Max: 5, Delay: time.Second, Backoff: 2, MaxDelay: 5 * time.Second}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := r.Wait(i + 1); got != w {
			t.Errorf("Wait(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := r.Waits(); got != 17*time.Second {
		t.Errorf("Waits() = %s, want 17s", got)
	}
	fixed := Retry{Max: 3, Delay: 30 * time.Second, Backoff: 1, MaxDelay: time.Hour}
	if got := fixed.Wait(3); got != 30*time.Second {
		t.Errorf("a backoff of 1 waits the same: Wait(3) = %s", got)
	}
}

func TestRetryValidateRefusesWhatTheDatabaseRefuses(t *testing.T) {
	ok := Retry{}.WithDefaults()
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Retry)
		want   string
	}{
		{"negative count", func(r *Retry) { r.Max = -1 }, "retry_max"},
		{"too many", func(r *Retry) { r.Max = MaxRetries + 1 }, "retry_max"},
		{"no wait", func(r *Retry) { r.Delay = 0 }, "retry_delay"},
		{"cap under the wait", func(r *Retry) { r.MaxDelay = r.Delay / 2 }, "retry_delay_max"},
		{"shrinking backoff", func(r *Retry) { r.Backoff = 0.5 }, "retry_backoff"},
		{"not a code", func(r *Retry) { r.On = "1,x" }, "retry_on"},
		{"past 255", func(r *Retry) { r.On = "256" }, "retry_on"},
		{"backwards range", func(r *Retry) { r.On = "9-3" }, "backwards"},
	}
	for _, tt := range tests {
		r := ok
		tt.change(&r)
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want an error naming %q", tt.name, err, tt.want)
		}
	}
}

func TestExitCodesReadAndWriteTheSameSet(t *testing.T) {
	codes, err := ParseExitCodes(" 1-99, 137 ,200-200")
	if err != nil {
		t.Fatal(err)
	}
	if got := codes.String(); got != "1-99,137,200" {
		t.Errorf("String() = %q, want 1-99,137,200", got)
	}
	if empty, _ := ParseExitCodes(""); !empty.Contains(255) || empty.String() != "" {
		t.Errorf("the empty set must hold every code and print as nothing")
	}
}
