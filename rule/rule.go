// Package rule parses the seed system's schedule rules, node-schedule /
// crontab syntax, and translates them into Temporal calendar specs.
//
// A rule has five fields (minute hour day-of-month month day-of-week) or
// six with seconds first. Each field takes "*", "?" (day fields), a value,
// a range "1-5", a step "*/15", "1-30/5" or "5/15", and comma lists of
// these; months and weekdays also take names (JAN, MON). Day of week runs
// 0-7, where 0 and 7 are Sunday.
//
// As in crontab, when both day of month and day of week are restricted a
// day matches if either does. Temporal ANDs the fields of one calendar
// spec, so such a rule becomes two specs whose union is the rule.
//
// On the days clocks change, a fixed-time rule (no "*" starting its
// second, minute or hour field, as in cronie) fires once for each local
// time it names, and other rules follow real time: see Rule.Next, and
// Rule.Spec for how Temporal is made to agree.
package rule

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
)

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("invalid rule")

// ErrNeverFires is wrapped, with ErrInvalid, by the error of a rule whose
// fields are each fine but never meet on a real date ("0 0 30 2 *").
var ErrNeverFires = errors.New("never fires")

type fieldKind int

const (
	second fieldKind = iota
	minute
	hour
	dom
	month
	dow
)

type fieldDef struct {
	name     string
	min, max int
	names    map[string]int
}

var fieldDefs = [...]fieldDef{
	second: {"second", 0, 59, nil},
	minute: {"minute", 0, 59, nil},
	hour:   {"hour", 0, 23, nil},
	dom:    {"day of month", 1, 31, nil},
	month: {"month", 1, 12, map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
		"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}},
	dow: {"day of week", 0, 7, map[string]int{"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}},
}

// Rule is a parsed schedule rule; make one with Parse.
type Rule struct {
	text       string
	hasSeconds bool
	// sets holds each field's allowed values; dow uses 0-6.
	sets             [6][]int
	domStar, dowStar bool
	// fixed marks a fixed-time rule, which keeps to the local clock on
	// DST days (see Next).
	fixed bool
}

// Parse parses a rule of 5 fields, or 6 with seconds first. A rule that
// can never fire is refused like a bad field.
func Parse(text string) (Rule, error) {
	r, err := parseFields(text)
	if err != nil {
		return Rule{}, err
	}
	if why := r.neverFires(); why != "" {
		return Rule{}, fmt.Errorf("%w %q: %w: %s", ErrInvalid, r.text, ErrNeverFires, why)
	}
	return r, nil
}

// daysIn is the most days each month has (February 29 in leap years).
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// neverFires says why no date matches the rule's day and month fields, or
// "" when one does. Hours, minutes and seconds always meet (even in a DST
// gap the fire moves to the next instant), and a restricted day of week
// matches some day of every month, so only day of month against month
// can fail, when day of week does not rescue it.
func (r Rule) neverFires() string {
	if r.domStar || !r.dowStar {
		return ""
	}
	for _, m := range r.sets[month] {
		if r.sets[dom][0] <= daysIn[m] {
			return ""
		}
	}
	var months, days []string
	for _, m := range r.sets[month] {
		months = append(months, time.Month(m).String())
	}
	for _, d := range r.sets[dom] {
		days = append(days, strconv.Itoa(d))
	}
	verb := "has"
	if len(months) > 1 {
		verb = "have"
	}
	return fmt.Sprintf("%s %s no day %s", join(months, "and"), verb, join(days, "or"))
}

// join joins words with commas and a final conjunction.
func join(words []string, conj string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// parseFields parses the fields of a rule, without asking whether it fires.
func parseFields(text string) (Rule, error) {
	r := Rule{text: strings.TrimSpace(text)}
	fields := strings.Fields(r.text)
	switch len(fields) {
	case 5:
		fields = append([]string{"0"}, fields...)
	case 6:
		r.hasSeconds = true
	default:
		return Rule{}, fmt.Errorf("%w %q: want 5 fields (min hour dom month dow) or 6 (sec min hour dom month dow), got %d", ErrInvalid, r.text, len(fields))
	}
	// As in cronie, a rule is fixed-time when none of its second, minute
	// and hour fields starts with "*" ("*/10" counts as a star).
	r.fixed = true
	for k, f := range fields {
		if fieldKind(k) <= hour && strings.HasPrefix(f, "*") {
			r.fixed = false
		}
		set, star, err := parseField(fieldKind(k), f)
		if err != nil {
			return Rule{}, fmt.Errorf("%w %q: %s: %s", ErrInvalid, r.text, fieldDefs[k].name, err)
		}
		r.sets[k] = set
		switch fieldKind(k) {
		case dom:
			r.domStar = star
		case dow:
			r.dowStar = star
		}
	}
	// A rule firing more than maxFixedFiresPerHour times an hour follows
	// real time: its fires in a DST window are too many to collapse.
	if len(r.sets[second])*len(r.sets[minute]) > maxFixedFiresPerHour {
		r.fixed = false
	}
	return r, nil
}

// maxFixedFiresPerHour is the most fires an hour a fixed-time rule may
// have; DST windows are an hour or less, so at most this many fires are
// moved or dropped at a transition.
const maxFixedFiresPerHour = 60

// FixedTime reports whether the rule is fixed-time: none of its second,
// minute and hour fields starts with "*", and it fires at most 60 times an
// hour. Such a rule fires once for each local time on DST days (see Next);
// other rules follow real time.
func (r Rule) FixedTime() bool { return r.fixed }

// String returns the rule as written, trimmed.
func (r Rule) String() string { return r.text }

// HasSeconds reports whether the rule had a seconds field.
func (r Rule) HasSeconds() bool { return r.hasSeconds }

func parseField(k fieldKind, f string) (set []int, star bool, err error) {
	def := fieldDefs[k]
	seen := map[int]bool{}
	star = true
	for _, item := range strings.Split(f, ",") {
		if item == "" {
			return nil, false, fmt.Errorf("empty list item in %q", f)
		}
		base, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			if step, err = strconv.Atoi(stepText); err != nil || step <= 0 {
				return nil, false, fmt.Errorf("step %q must be a positive number", stepText)
			}
		}
		lo, hi := def.min, def.max
		switch {
		case base == "*" || base == "?":
			if base == "?" && k != dom && k != dow {
				return nil, false, fmt.Errorf("%q is only allowed in the day fields", base)
			}
			if k == dow {
				hi = 6
			}
			if hasStep {
				star = false
			}
		default:
			star = false
			from, to, isRange := strings.Cut(base, "-")
			if lo, err = value(def, from); err != nil {
				return nil, false, err
			}
			switch {
			case isRange:
				if hi, err = value(def, to); err != nil {
					return nil, false, err
				}
				if hi < lo {
					return nil, false, fmt.Errorf("range %q runs backwards", base)
				}
			case !hasStep:
				hi = lo
			}
		}
		for v := lo; v <= hi; v += step {
			if k == dow && v == 7 {
				seen[0] = true
				continue
			}
			seen[v] = true
		}
	}
	for v := range seen {
		set = append(set, v)
	}
	sort.Ints(set)
	return set, star, nil
}

func value(def fieldDef, s string) (int, error) {
	if n, ok := def.names[strings.ToUpper(s)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		if strings.ContainsAny(s, "LW#") {
			return 0, fmt.Errorf("%q: L, W and # are not supported", s)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < def.min || n > def.max {
		return 0, fmt.Errorf("%d is out of range %d-%d", n, def.min, def.max)
	}
	return n, nil
}

// Calendars returns the Temporal calendar specs whose union is exactly the
// rule's fire times, read on the local clock: one, or two when day of
// month and day of week are both restricted.
func (r Rule) Calendars() []client.ScheduleCalendarSpec {
	var out []client.ScheduleCalendarSpec
	for _, c := range r.calendarSets() {
		out = append(out, c.spec())
	}
	return out
}

// calSet is a calendar spec as value sets: Temporal ANDs its fields.
type calSet struct {
	years   []int // nil: every year
	sets    [6][]int
	comment string
}

// fullSet is every value of field k (day of week 0-6).
func fullSet(k fieldKind) []int {
	hi := fieldDefs[k].max
	if k == dow {
		hi = 6
	}
	var out []int
	for v := fieldDefs[k].min; v <= hi; v++ {
		out = append(out, v)
	}
	return out
}

// calendarSets returns the calendars of Calendars as value sets.
func (r Rule) calendarSets() []calSet {
	base := calSet{sets: r.sets}
	if r.domStar || r.dowStar {
		if r.domStar {
			base.sets[dom] = fullSet(dom)
		}
		if r.dowStar {
			base.sets[dow] = fullSet(dow)
		}
		return []calSet{base}
	}
	byDay, byWeekday := base, base
	byDay.sets[dow], byDay.comment = fullSet(dow), "day of month"
	byWeekday.sets[dom], byWeekday.comment = fullSet(dom), "day of week"
	return []calSet{byDay, byWeekday}
}

// spec is c as a Temporal calendar spec.
func (c calSet) spec() client.ScheduleCalendarSpec {
	return client.ScheduleCalendarSpec{
		Second:     ranges(c.sets[second]),
		Minute:     ranges(c.sets[minute]),
		Hour:       ranges(c.sets[hour]),
		DayOfMonth: ranges(c.sets[dom]),
		Month:      ranges(c.sets[month]),
		Year:       ranges(c.years),
		DayOfWeek:  ranges(c.sets[dow]),
		Comment:    c.comment,
	}
}

// ranges compresses a sorted set into ranges: runs of consecutive values,
// and arithmetic progressions of three or more.
func ranges(set []int) []client.ScheduleRange {
	var out []client.ScheduleRange
	for i := 0; i < len(set); {
		j := i + 1
		if j < len(set) {
			step := set[j] - set[i]
			for j+1 < len(set) && set[j+1]-set[j] == step {
				j++
			}
			if step == 1 || j-i >= 2 {
				out = append(out, client.ScheduleRange{Start: set[i], End: set[j], Step: step})
				i = j + 1
				continue
			}
		}
		out = append(out, client.ScheduleRange{Start: set[i], End: set[i], Step: 1})
		i++
	}
	return out
}

// MinGap is a lower bound of the time between two consecutive fires: the
// closest two values of the finest field with more than one (seconds,
// then minutes, then hours, going round the clock), or a day when the
// rule fires at most once a day. Days are not looked at: a day-level gap
// is never shorter than a day.
func (r Rule) MinGap() time.Duration {
	for _, f := range []struct {
		k    fieldKind
		unit time.Duration
		span int
	}{{second, time.Second, 60}, {minute, time.Minute, 60}, {hour, time.Hour, 24}} {
		set := r.sets[f.k]
		if len(set) < 2 {
			continue
		}
		gap := set[0] + f.span - set[len(set)-1] // round the clock
		for i := 1; i < len(set); i++ {
			gap = min(gap, set[i]-set[i-1])
		}
		return time.Duration(gap) * f.unit
	}
	return 24 * time.Hour
}

// Cron returns the rule in plain 6-field cron syntax (seconds first,
// numbers only, day of week 0-6), for cron libraries that do not take
// every spelling node-schedule does.
func (r Rule) Cron() string {
	fields := make([]string, 6)
	for k := range r.sets {
		switch {
		case fieldKind(k) == dom && r.domStar, fieldKind(k) == dow && r.dowStar:
			fields[k] = "*"
		default:
			vals := make([]string, len(r.sets[k]))
			for i, v := range r.sets[k] {
				vals[i] = strconv.Itoa(v)
			}
			fields[k] = strings.Join(vals, ",")
		}
	}
	return strings.Join(fields, " ")
}
