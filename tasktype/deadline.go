package tasktype

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// ErrInvalidDeadline is wrapped by every error of ParseDeadline.
var ErrInvalidDeadline = errors.New("invalid deadline")

// DeadlineSyntax says how a deadline is written, for error messages and
// forms.
const DeadlineSyntax = `HH:MM, a time of day in the task's time zone (07:00: by 7 o'clock on the ` +
	`logical date's day, or the next day's when that is not after the logical date), or +<n>s, +<n>m ` +
	`or +<n>h after the nominal fire time (+90s, +2h, n from 1 to 999999); blank for none`

// Deadline is a task's parsed deadline: by when a logical date's run must
// have succeeded. The zero Deadline is none. Parse one with ParseDeadline.
type Deadline struct {
	// After, when set, puts the deadline this long after the nominal
	// time; otherwise Hour:Minute is the wall time in the task's zone.
	After        time.Duration
	Hour, Minute int
	text         string
}

// ParseDeadline parses a deadline as t_task_list.deadline holds it
// (its deadline_format check accepts exactly what this does): "" (none),
// "HH:MM" (00:00 to 23:59, two digits each) or "+<n>s|m|h" (n from 1 to
// 999999, no leading zero). Errors wrap ErrInvalidDeadline and say what
// is expected.
func ParseDeadline(s string) (Deadline, error) {
	if s == "" {
		return Deadline{}, nil
	}
	bad := func(why string) (Deadline, error) {
		return Deadline{}, fmt.Errorf("%w: %q %s: want %s", ErrInvalidDeadline, s, why, DeadlineSyntax)
	}
	if s[0] == '+' {
		per := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour}[s[len(s)-1]]
		if per == 0 || len(s) < 3 {
			return bad("is not +<n>s, +<n>m or +<n>h")
		}
		num := s[1 : len(s)-1]
		if len(num) > 6 || num[0] == '0' || !digits(num) {
			return bad("needs a whole number from 1 to 999999 after the +")
		}
		n, _ := strconv.Atoi(num)
		return Deadline{After: time.Duration(n) * per, text: s}, nil
	}
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return bad("is not a time HH:MM (two digits each) or a delay +<n>s|m|h")
	}
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:])
	if h > 23 || m > 59 {
		return bad("is not a time of day (00:00 to 23:59)")
	}
	return Deadline{Hour: h, Minute: m, text: s}, nil
}

func digits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// IsZero reports whether d is no deadline.
func (d Deadline) IsZero() bool { return d.text == "" }

// String returns the deadline as written.
func (d Deadline) String() string { return d.text }

// At is when the run of logical date logicalDate, whose nominal time is
// nominal (the fire time of the task's own rule, or the logical date for
// a run a chain starts), must have succeeded, in loc (the task's zone): a
// delay is counted from nominal; a time of day is that wall time on the
// logical date's day in loc, or the next day's when that is not after the
// logical date. A wall time a DST gap skips is the instant the gap ends;
// one a fall-back repeats is its first occurrence (as rule.Next fires). The
// zero Deadline gives the zero time.
func (d Deadline) At(logicalDate, nominal time.Time, loc *time.Location) time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	if d.After > 0 {
		return nominal.Add(d.After)
	}
	if loc == nil {
		loc = time.UTC
	}
	day := logicalDate.In(loc)
	at := wallInstant(day.Year(), day.Month(), day.Day(), d.Hour, d.Minute, loc)
	if !at.After(logicalDate) {
		at = wallInstant(day.Year(), day.Month(), day.Day()+1, d.Hour, d.Minute, loc)
	}
	return at
}

// wallInstant is the first instant loc's clock reads the given wall time,
// or, when a DST gap skips it, the instant the gap ends.
func wallInstant(year int, month time.Month, day, hour, minute int, loc *time.Location) time.Time {
	w := time.Date(year, month, day, hour, minute, 0, 0, time.UTC) // the reading, as if in UTC
	// The offsets loc has around w: UTC offsets are within ±15 h, and
	// zones change at most a few times a year.
	var offsets []int
	for probe := -30 * time.Hour; probe <= 30*time.Hour; probe += 3 * time.Hour {
		if _, off := w.Add(probe).In(loc).Zone(); !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	var first time.Time
	for _, off := range offsets {
		at := w.Add(-time.Duration(off) * time.Second)
		if _, o := at.In(loc).Zone(); o == off && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	if !first.IsZero() {
		return first.In(loc)
	}
	// In a gap. Read with each offset, w lands on one side of it or the
	// other; the zone period that starts after w's reading starts where
	// the gap ends.
	var end time.Time
	for _, off := range offsets {
		at := w.Add(-time.Duration(off) * time.Second).In(loc)
		start, _ := at.ZoneBounds()
		if !start.IsZero() && wallReading(at).After(w) && (end.IsZero() || start.Before(end)) {
			end = start
		}
	}
	if !end.IsZero() {
		return end.In(loc)
	}
	return time.Date(year, month, day, hour, minute, 0, 0, loc) // not reached for real zones
}

func wallReading(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
