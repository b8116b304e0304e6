package webui

import (
	"strings"
	"testing"
	"time"
)

// TestPreviewRuleOnDSTDays: the form's next fires are the rule's (and so
// Temporal's): a fixed-time rule once per local day across the clock
// changes, an hourly rule in real time.
func TestPreviewRuleOnDSTDays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule, zone string
		now        time.Time
		want       []string
	}{
		{"30 2 * * *", "America/New_York", time.Date(2027, 3, 13, 12, 0, 0, 0, time.UTC), []string{
			"2027-03-14 03:00:00 EDT", "2027-03-15 02:30:00 EDT", "2027-03-16 02:30:00 EDT",
			"2027-03-17 02:30:00 EDT", "2027-03-18 02:30:00 EDT"}},
		{"30 1 * * *", "America/New_York", time.Date(2027, 11, 6, 12, 0, 0, 0, time.UTC), []string{
			"2027-11-07 01:30:00 EDT", "2027-11-08 01:30:00 EST", "2027-11-09 01:30:00 EST",
			"2027-11-10 01:30:00 EST", "2027-11-11 01:30:00 EST"}},
		{"0 * * * *", "Europe/London", time.Date(2027, 10, 30, 23, 30, 0, 0, time.UTC), []string{
			"2027-10-31 01:00:00 BST", "2027-10-31 01:00:00 GMT", "2027-10-31 02:00:00 GMT",
			"2027-10-31 03:00:00 GMT", "2027-10-31 04:00:00 GMT"}},
	}
	for _, tt := range tests {
		p := previewRule(tt.rule, tt.zone, tt.now)
		if got := strings.Join(p.Next, ", "); got != strings.Join(tt.want, ", ") {
			t.Errorf("%q in %s from %s: next fires %s, want %s", tt.rule, tt.zone, tt.now, got, strings.Join(tt.want, ", "))
		}
	}
}
