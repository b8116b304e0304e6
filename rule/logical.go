package rule

import "time"

// LogicalDate is the date a run at t is for, in a task whose runs come
// period apart: t truncated to the period, counted from local midnight in
// loc. A period of a day or more (or none) gives the local midnight of
// t's day. Runs of a chain are matched on it, so a late or retried run
// still counts for its own date.
//
// Within a day the period is counted on the wall clock from midnight and
// t's own offset is kept, so a fire keeps the date its rule named on a
// day with a DST change: a two-hourly 04:00 after a 02:00 → 03:00 jump is
// 04:00 (not 03:00, which the elapsed time would give), and the two
// 01:30s of a day that repeats that hour are two dates (01:00 in each
// offset).
func LogicalDate(t time.Time, period time.Duration, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	if period <= 0 || period >= 24*time.Hour {
		return time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	}
	wall := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute +
		time.Duration(local.Second())*time.Second + time.Duration(local.Nanosecond())
	return local.Add(-(wall % period))
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
