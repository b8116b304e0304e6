package rule

import "time"

// LogicalDate is the date a run at t is for, in a task whose runs come
// period apart: t truncated to the period, counted from local midnight in
// loc. A period of a day or more (or none) gives the local midnight of
// t's day. Runs of a chain are matched on it, so a late or retried run
// still counts for its own date.
//
// Within a day the period is counted in elapsed time from midnight, so on
// a day with a DST change the dates follow the real clock: an hourly
// period gives 03:00 after a 02:00 → 03:00 jump, and two dates 01:00
// (one per offset) on a day that repeats that hour.
func LogicalDate(t time.Time, period time.Duration, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	if period <= 0 || period >= 24*time.Hour {
		return midnight
	}
	elapsed := local.Sub(midnight)
	return midnight.Add(elapsed / period * period)
}

// Period is the time between two logical dates of a task with rule text:
// its rule's shortest gap between fires (MinGap), or ok false when the
// text is empty or not a rule (a task that only runs after others takes
// its upstreams' period).
func Period(text string) (period time.Duration, ok bool) {
	r, err := Parse(text)
	if err != nil {
		return 0, false
	}
	return r.MinGap(), true
}
