package rule

import (
	"slices"
	"time"
)

// nextReal returns the first time strictly after t, read in loc, whose
// local reading matches the rule, or the zero time if there is none within
// five years. It follows the algorithm of robfig/cron, in real time: a
// local time skipped by a spring-forward gap does not fire, and one that
// a fall-back repeats fires at both occurrences.
func (r Rule) nextReal(t time.Time, loc *time.Location) time.Time {
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

// nextWall is nextReal in UTC, where clocks never change, so it can jump
// to the next allowed value of each field instead of stepping: it
// returns the rule's first local time after w (a reading, see wall).
func (r Rule) nextWall(w time.Time) time.Time {
	// after returns the first value in set at or after v, or false.
	after := func(set []int, v int) (int, bool) {
		i, _ := slices.BinarySearch(set, v)
		if i == len(set) {
			return 0, false
		}
		return set[i], true
	}
	t := w.UTC().Truncate(time.Second).Add(time.Second)
	limit := t.Year() + 5
	for t.Year() <= limit {
		y, mo, d := t.Date()
		h, mi, s := t.Clock()
		if _, ok := slices.BinarySearch(r.sets[month], int(mo)); !ok {
			t = time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !r.dayMatches(t) {
			t = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		nh, ok := after(r.sets[hour], h)
		if !ok {
			t = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if nh != h {
			t = time.Date(y, mo, d, nh, 0, 0, 0, time.UTC)
			continue
		}
		nmi, ok := after(r.sets[minute], mi)
		if !ok {
			t = time.Date(y, mo, d, h+1, 0, 0, 0, time.UTC)
			continue
		}
		if nmi != mi {
			t = time.Date(y, mo, d, h, nmi, 0, 0, time.UTC)
			continue
		}
		ns, ok := after(r.sets[second], s)
		if !ok {
			t = time.Date(y, mo, d, h, mi+1, 0, 0, time.UTC)
			continue
		}
		return time.Date(y, mo, d, h, mi, ns, 0, time.UTC)
	}
	return time.Time{}
}
