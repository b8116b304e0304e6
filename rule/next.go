package rule

import (
	"slices"
	"time"
)

// Next returns the first fire time strictly after t, read in loc, or the
// zero time if there is none within five years. It follows the algorithm
// of robfig/cron, so on DST days it agrees with that library: a time
// skipped by a spring-forward gap fires at the first instant after it, and
// a repeated hour fires once.
func (r Rule) Next(t time.Time, loc *time.Location) time.Time {
	has := func(k fieldKind, v int) bool { _, ok := slices.BinarySearch(r.sets[k], v); return ok }
	t = t.In(loc)
	t = t.Add(time.Second - time.Duration(t.Nanosecond())*time.Nanosecond)
	added := false
	yearLimit := t.Year() + 5

wrap:
	if t.Year() > yearLimit {
		return time.Time{}
	}
	for !has(month, int(t.Month())) {
		if !added {
			added = true
			t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
		}
		t = t.AddDate(0, 1, 0)
		if t.Month() == time.January {
			goto wrap
		}
	}
	for !r.dayMatches(t) {
		if !added {
			added = true
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		}
		t = t.AddDate(0, 0, 1)
		// A DST change may leave the day not starting at midnight.
		if t.Hour() != 0 {
			if t.Hour() > 12 {
				t = t.Add(time.Duration(24-t.Hour()) * time.Hour)
			} else {
				t = t.Add(time.Duration(-t.Hour()) * time.Hour)
			}
		}
		if t.Day() == 1 {
			goto wrap
		}
	}
	for !has(hour, t.Hour()) {
		if !added {
			added = true
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc)
		}
		t = t.Add(time.Hour)
		if t.Hour() == 0 {
			goto wrap
		}
	}
	for !has(minute, t.Minute()) {
		if !added {
			added = true
			t = t.Truncate(time.Minute)
		}
		t = t.Add(time.Minute)
		if t.Minute() == 0 {
			goto wrap
		}
	}
	for !has(second, t.Second()) {
		if !added {
			added = true
			t = t.Truncate(time.Second)
		}
		t = t.Add(time.Second)
		if t.Second() == 0 {
			goto wrap
		}
	}
	return t
}

func (r Rule) dayMatches(t time.Time) bool {
	_, d := slices.BinarySearch(r.sets[dom], t.Day())
	_, w := slices.BinarySearch(r.sets[dow], int(t.Weekday()))
	if r.domStar || r.dowStar {
		return d && w
	}
	return d || w
}
