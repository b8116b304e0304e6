package rule

import (
	"slices"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/tasktype"
)

// Next returns the first fire time strictly after t, read in loc, or the
// zero time if there is none within five years.
//
// On the days clocks change it does what cronie does. A fixed-time rule
// (see FixedTime) fires once for each local time it names: a local time
// skipped by a spring-forward gap fires at the instant the gap ends (several
// such times, and a fire at the gap's end, make one fire), and a local
// time a fall-back repeats fires at its first occurrence only. Any other
// rule ("0 * * * *", "*/30 * * * *") follows real time, as robfig/cron
// does: it has no fire in a gap and fires in both occurrences of a
// repeated hour, so an hourly rule fires 23 times on a spring-forward day
// and 25 on a fall-back day. The spec Spec builds makes Temporal fire
// at the same times.
func (r Rule) Next(t time.Time, loc *time.Location) time.Time {
	if !r.fixed {
		return r.nextReal(t, loc)
	}
	// The fires are the rule's local times, each mapped to the instant it
	// fires at. That map keeps order and sends every local time up to t's
	// own reading to t or before, so the answer is the first local time
	// after t's reading whose instant is after t.
	w := wall(t.In(loc))
	for {
		w = r.nextWall(w)
		if w.IsZero() {
			return w
		}
		if at := instant(w, loc); at.After(t) {
			return at.In(loc)
		}
	}
}

// wall returns t's local reading as the same reading in UTC, a zone
// without transitions where local times can be counted through.
func wall(t time.Time) time.Time {
	_, off := t.Zone()
	return t.UTC().Add(time.Duration(off) * time.Second)
}

// transition is a change of a zone's offset from UTC.
type transition struct {
	at            time.Time // the first instant of the new offset
	before, after int       // the offsets, in seconds east of UTC
}

// gap reports whether the clocks jump forward, skipping local times.
func (tr transition) gap() bool { return tr.after > tr.before }

// wallBefore and wallAfter are the local readings (see wall) of the
// transition's instant with the old and the new offset. The local times
// in [wallBefore, wallAfter) are skipped by a gap; those in [wallAfter,
// wallBefore) occur twice at a fall-back.
func (tr transition) wallBefore() time.Time {
	return tr.at.UTC().Add(time.Duration(tr.before) * time.Second)
}

func (tr transition) wallAfter() time.Time {
	return tr.at.UTC().Add(time.Duration(tr.after) * time.Second)
}

// instant is instant(w, loc) for a local time w near tr, with no other
// transition near: w's first occurrence, or tr's instant if tr skips w.
func (tr transition) instant(w time.Time) time.Time {
	switch {
	case w.Before(tr.wallBefore()):
		return w.Add(-time.Duration(tr.before) * time.Second)
	case !w.Before(tr.wallAfter()):
		return w.Add(-time.Duration(tr.after) * time.Second)
	}
	return tr.at // in a gap
}

// transitions returns loc's offset changes in [from, to), in order.
func transitions(loc *time.Location, from, to time.Time) []transition {
	var out []transition
	t := from.In(loc)
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			return out
		}
		if !end.After(t) { // no progress: should not happen
			return out
		}
		_, before := t.Zone()
		next := end.In(loc)
		if _, after := next.Zone(); after != before {
			out = append(out, transition{at: end, before: before, after: after})
		}
		t = next
	}
}

// offsetWindow bounds how far an instant is from its local reading: UTC
// offsets run from -12 to +14 hours.
const offsetWindow = 15 * time.Hour

// instant returns when a fixed-time rule fires for the local time w (a
// reading, see wall): w's first occurrence in loc, or, when a gap skips
// w, the instant the gap ends.
func instant(w time.Time, loc *time.Location) time.Time {
	from := w.Add(-offsetWindow)
	_, off := from.In(loc).Zone()
	offsets := []int{off}
	trs := transitions(loc, from, w.Add(offsetWindow))
	for _, tr := range trs {
		offsets = append(offsets, tr.after)
	}
	var first time.Time
	for _, off := range offsets {
		at := w.Add(-time.Duration(off) * time.Second)
		if _, o := at.In(loc).Zone(); o == off && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	if !first.IsZero() {
		return first
	}
	for _, tr := range trs {
		if tr.gap() && !w.Before(tr.wallBefore()) && w.Before(tr.wallAfter()) {
			return tr.at
		}
	}
	// Not reached for zones whose offsets change by transitions.
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
}

// firesAt returns the instants Next gives for the rule's local times in
// [from, to) (readings, see wall) around the transition tr, or false when
// they are more than maxNamedFires.
func (r Rule) firesAt(from, to time.Time, tr transition) ([]time.Time, bool) {
	var out []time.Time
	lo, hi := tr.wallBefore(), tr.wallAfter() // a gap's local times
	if !tr.gap() {
		lo, hi = hi, lo // a repeat's
	}
	for w := r.nextWall(from.Add(-time.Second)); !w.IsZero() && w.Before(to); w = r.nextWall(w) {
		in := !w.Before(lo) && w.Before(hi)
		switch {
		case r.fixed || !in:
			// Several local times in a gap fire once, at its end.
			if at := tr.instant(w); len(out) == 0 || !at.Equal(out[len(out)-1]) {
				out = append(out, at)
			}
		case !tr.gap(): // a real-time rule fires in both passes of a repeat
			out = append(out, w.Add(-time.Duration(tr.before)*time.Second), w.Add(-time.Duration(tr.after)*time.Second))
		}
		if len(out) > maxNamedFires {
			return nil, false
		}
	}
	// A real-time rule's fires in the second pass come after all the
	// first pass's.
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out, true
}

// specHold is how long after a transition the spec keeps its adjustments:
// long enough that the adjusted fires have been taken before a re-sync
// drops them.
const specHold = 24 * time.Hour

// specHorizon is how far ahead of now Spec looks for transitions: past
// the next of each kind in zones that change twice a year.
const specHorizon = 400 * 24 * time.Hour

// maxNamedFires is the most fires around a transition Spec names one by
// one; a rule firing more often there (more than every minute) keeps
// Temporal's own calendars for it.
const maxNamedFires = 240

// Temporal reads calendar years in [minCalendarYear, maxCalendarYear].
const (
	minCalendarYear = 2000
	maxCalendarYear = 2100
)

// Spec returns the schedule spec of the rule in an IANA time zone or UTC
// (not "Local", nor "": see tasktype.ValidateTimeZone), with which
// Temporal fires when Next says, from now until a day after the next
// spring-forward and the next fall-back.
//
// Temporal's calendars follow real time on DST days, and mishandle the
// hours around a change (east of UTC they fire the hour before a repeated
// hour twice and skip its second pass, in half-hour gaps they fire at the
// gap's end, and where clocks jump at midnight they skip the day for a
// rule with a day of week). So for each of the next spring-forward and
// fall-back the spec cuts the whole hours from the one before the change
// to the one it ends in out of the calendars on that date, and names the
// fires Next gives there as instants: interval specs of Every T, Offset 0
// (T the fire's Unix time), which match at T and next at 2T, decades
// later, long after a re-sync has dropped them. An interval is in
// absolute time, so it can name one of two equal local times; an
// exclusion calendar could not do the cut, as it also drops intervals.
// A transition stays in the spec until a day after it, so the spec, and
// the schedule, change only then; now itself is not in the spec.
func (r Rule) Spec(timeZone string, now time.Time) (client.ScheduleSpec, error) {
	loc, err := tasktype.ValidateTimeZone(timeZone)
	if err != nil {
		return client.ScheduleSpec{}, err
	}
	spec := client.ScheduleSpec{TimeZoneName: timeZone}
	cals := r.calendarSets()
	var gap, fold *transition
	for _, tr := range transitions(loc, now.Add(-specHold), now.Add(specHorizon)) {
		switch {
		case tr.gap() && gap == nil:
			gap = &tr
		case !tr.gap() && fold == nil:
			fold = &tr
		}
	}
	if gap != nil {
		// Temporal reads the weekday of a date at its midnight, which a
		// gap may skip to the day before.
		d := gap.wallAfter()
		if m := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc); m.Day() != d.Day() {
			day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
			var out []calSet
			for _, c := range cals {
				out = append(out, c.fixWeekday(day)...)
			}
			cals = out
		}
	}
	var ats []time.Time
	for _, tr := range []*transition{gap, fold} {
		if tr == nil {
			continue
		}
		lo, hi := tr.wallBefore(), tr.wallAfter()
		if hi.Before(lo) {
			lo, hi = hi, lo
		}
		from := lo.Truncate(time.Hour).Add(-time.Hour)
		to := hi.Add(time.Hour - time.Nanosecond).Truncate(time.Hour)
		named, ok := r.firesAt(from, to, *tr)
		if !ok || len(named) == 0 {
			continue
		}
		cals = cutWindow(cals, from, to)
		ats = append(ats, named...)
	}
	for _, c := range cals {
		spec.Calendars = append(spec.Calendars, c.spec())
	}
	for _, at := range ats {
		spec.Intervals = append(spec.Intervals, client.ScheduleIntervalSpec{Every: time.Duration(at.Unix()) * time.Second})
	}
	return spec, nil
}

// cutWindow returns calendars matching what cals match except the local
// times in [from, to) (readings, see wall).
func cutWindow(cals []calSet, from, to time.Time) []calSet {
	for from.Before(to) {
		day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
		end := day.AddDate(0, 0, 1)
		if to.Before(end) {
			end = to
		}
		lo, hi := int(from.Sub(day)/time.Second), int(end.Sub(day)/time.Second)
		var out []calSet
		for _, c := range cals {
			if !has(c.sets[dow], int(day.Weekday())) {
				out = append(out, c) // c has no fire that day
				continue
			}
			out = append(out, c.splitDay(day, func(n calSet) []calSet {
				var pieces []calSet
				for _, b := range outside(lo, hi) {
					for k := second; k <= hour; k++ {
						n.sets[k] = intersect(c.sets[k], b[k])
					}
					pieces = append(pieces, n)
				}
				return pieces
			})...)
		}
		cals, from = out, end
	}
	return cals
}

// fixWeekday returns calendars matching what c matches, with the date day
// matched without asking Temporal for its weekday.
func (c calSet) fixWeekday(day time.Time) []calSet {
	if len(c.sets[dow]) == len(fullSet(dow)) {
		return []calSet{c}
	}
	return c.splitDay(day, func(n calSet) []calSet {
		if !has(c.sets[dow], int(day.Weekday())) {
			return nil
		}
		n.sets[dow] = fullSet(dow)
		return []calSet{n}
	})
}

// splitDay returns calendars matching what c matches, except on the date
// day, where they match what piece makes of c restricted to that date:
// c∩{year≠Y} ∪ c∩{Y, month≠M} ∪ c∩{Y, M, day≠D} ∪ piece(c∩{Y, M, D}).
func (c calSet) splitDay(day time.Time, piece func(calSet) []calSet) []calSet {
	y, m, d := day.Year(), int(day.Month()), day.Day()
	years := c.years
	if years == nil {
		years = span(minCalendarYear, maxCalendarYear)
	}
	if !has(years, y) || !has(c.sets[month], m) || !has(c.sets[dom], d) {
		return []calSet{c}
	}
	var out []calSet
	add := func(n calSet) {
		for _, s := range n.sets {
			if len(s) == 0 {
				return
			}
		}
		if len(n.years) > 0 {
			out = append(out, n)
		}
	}
	n := c
	n.years = without(years, y)
	add(n)
	n.years = []int{y}
	n.sets[month] = without(c.sets[month], m)
	add(n)
	n.sets[month] = []int{m}
	n.sets[dom] = without(c.sets[dom], d)
	add(n)
	n.sets[dom] = []int{d}
	for _, p := range piece(n) {
		add(p)
	}
	return out
}

// outside returns the times of day outside [lo, hi) seconds as boxes of
// second, minute and hour sets.
func outside(lo, hi int) [][3][]int {
	all := func(k fieldKind) []int { return fullSet(k) }
	box := func(s, m, h []int) [3][]int { return [3][]int{s, m, h} }
	var out [][3][]int
	h, m, s := lo/3600, lo/60%60, lo%60
	if h > 0 {
		out = append(out, box(all(second), all(minute), span(0, h-1)))
	}
	if m > 0 {
		out = append(out, box(all(second), span(0, m-1), []int{h}))
	}
	if s > 0 {
		out = append(out, box(span(0, s-1), []int{m}, []int{h}))
	}
	if hi >= 24*3600 {
		return out
	}
	h, m, s = hi/3600, hi/60%60, hi%60
	if s > 0 {
		out = append(out, box(span(s, 59), []int{m}, []int{h}))
		if m++; m == 60 {
			h, m = h+1, 0
		}
	}
	if m > 0 && h < 24 {
		out = append(out, box(all(second), span(m, 59), []int{h}))
		h++
	}
	if h < 24 {
		out = append(out, box(all(second), all(minute), span(h, 23)))
	}
	return out
}

func span(lo, hi int) []int {
	var out []int
	for v := lo; v <= hi; v++ {
		out = append(out, v)
	}
	return out
}

func has(set []int, v int) bool {
	for _, x := range set {
		if x == v {
			return true
		}
	}
	return false
}

func without(set []int, v int) []int {
	var out []int
	for _, x := range set {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func intersect(a, b []int) []int {
	var out []int
	for _, x := range a {
		if has(b, x) {
			out = append(out, x)
		}
	}
	return out
}
