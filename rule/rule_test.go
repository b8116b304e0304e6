package rule

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"go.temporal.io/sdk/client"
)

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ rule, want string }{
		{"* * *", "want 5 fields"},
		{"* * * * * * *", "got 7"},
		{"", "got 0"},
		{"*/2 25 * * *", "hour: 25 is out of range 0-23"},
		{"60 * * * * *", "second: 60 is out of range 0-59"},
		{"* * 0 * *", "day of month: 0 is out of range 1-31"},
		{"* * * 13 *", "month: 13 is out of range 1-12"},
		{"* * * * 8", "day of week: 8 is out of range 0-7"},
		{"*/0 * * * *", "step \"0\" must be a positive number"},
		{"5-1 * * * *", "range \"5-1\" runs backwards"},
		{"1,,2 * * * *", "empty list item"},
		{"x * * * *", "\"x\" is not a number"},
		{"* * L * *", "L, W and # are not supported"},
		{"* * * * 1#2", "not supported"},
		{"? * * * *", "only allowed in the day fields"},
		{"@daily", "want 5 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.rule)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %v, want an ErrInvalid saying %q", tt.rule, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.rule) {
				t.Errorf("error %q does not quote the rule", err)
			}
		})
	}
}

func r(start, end, step int) client.ScheduleRange {
	return client.ScheduleRange{Start: start, End: end, Step: step}
}

func TestCalendars(t *testing.T) {
	t.Parallel()
	all := func(lo, hi int) []client.ScheduleRange { return []client.ScheduleRange{r(lo, hi, 1)} }
	zero := []client.ScheduleRange{r(0, 0, 1)}
	tests := []struct {
		rule string
		want []client.ScheduleCalendarSpec
	}{
		{"*/2 * * * * *", []client.ScheduleCalendarSpec{{Second: []client.ScheduleRange{r(0, 58, 2)}, Minute: all(0, 59),
			Hour: all(0, 23), DayOfMonth: all(1, 31), Month: all(1, 12), DayOfWeek: all(0, 6)}}},
		{"0 9 * * MON-FRI", []client.ScheduleCalendarSpec{{Second: zero, Minute: zero, Hour: []client.ScheduleRange{r(9, 9, 1)},
			DayOfMonth: all(1, 31), Month: all(1, 12), DayOfWeek: all(1, 5)}}},
		{"0 0 * * 5-7", []client.ScheduleCalendarSpec{{Second: zero, Minute: zero, Hour: zero,
			DayOfMonth: all(1, 31), Month: all(1, 12), DayOfWeek: []client.ScheduleRange{r(0, 0, 1), r(5, 6, 1)}}}},
		{"0 0 1 * 1", []client.ScheduleCalendarSpec{
			{Second: zero, Minute: zero, Hour: zero, DayOfMonth: []client.ScheduleRange{r(1, 1, 1)}, Month: all(1, 12), DayOfWeek: all(0, 6), Comment: "day of month"},
			{Second: zero, Minute: zero, Hour: zero, DayOfMonth: all(1, 31), Month: all(1, 12), DayOfWeek: []client.ScheduleRange{r(1, 1, 1)}, Comment: "day of week"},
		}},
		{"5,7,20 1-3,10/20 * JAN,jun *", []client.ScheduleCalendarSpec{{Second: zero,
			Minute:     []client.ScheduleRange{r(5, 5, 1), r(7, 7, 1), r(20, 20, 1)},
			Hour:       []client.ScheduleRange{r(1, 3, 1), r(10, 10, 1)},
			DayOfMonth: all(1, 31), Month: []client.ScheduleRange{r(1, 1, 1), r(6, 6, 1)}, DayOfWeek: all(0, 6)}}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Calendars(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Calendars(%q)\n got %+v\nwant %+v", tt.rule, got, tt.want)
			}
		})
	}
}

// oracleRules are checked against robfig/cron and against the calendars.
var oracleRules = []string{
	"*/2 * * * * *", "*/10 * * * * *", "5/15 * * * * *", "0 30 2 * * *", "* * * * *", "*/5 * * * *",
	"0 9 * * MON-FRI", "0 0 1 * 1", "15 10 1,15 * 5", "0 0 29 2 *", "0 12 * JAN,JUL SUN", "30 2 * * *",
	"0 * * * *", "1-10/3 4 5 6 0", "0 0 31 * *", "0 0 ? * 2",
	"59 59 23 31 12 *", "0 0 12 1-7 * 1", "0 */7 * * *",
}

// TestNextAgreesWithRobfigCron: the real-time algorithm is robfig/cron's,
// and Next is it for rules that are not fixed-time and in zones without
// DST (TestNextOnDSTDays has the fixed-time rules on DST days).
func TestNextAgreesWithRobfigCron(t *testing.T) {
	t.Parallel()
	parser := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	for _, zone := range []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Shanghai"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range oracleRules {
			ours, err := Parse(text)
			if err != nil {
				t.Fatalf("Parse(%q): %v", text, err)
			}
			theirs, err := parser.Parse(text)
			if err != nil {
				t.Fatalf("robfig Parse(%q): %v", text, err)
			}
			// Start just before the 2027 spring-forward in America and Europe.
			a := time.Date(2027, 3, 13, 22, 59, 58, 0, loc)
			b, c := a, a
			checkNext := !ours.FixedTime() || zone == "UTC" || zone == "Asia/Shanghai"
			for i := 0; i < 60; i++ {
				a, b, c = ours.nextReal(a, loc), theirs.Next(b), ours.Next(c, loc)
				if !a.Equal(b) {
					t.Fatalf("%s %q: fire %d: ours %s, robfig %s", zone, text, i, a, b)
				}
				if checkNext && !c.Equal(b) {
					t.Fatalf("%s %q: fire %d: Next %s, robfig %s", zone, text, i, c, b)
				}
				if a.IsZero() {
					break
				}
			}
		}
	}
}

// matches reports whether t (in loc) is in the union of the calendars,
// reading ranges as Temporal does.
func matches(cals []client.ScheduleCalendarSpec, t time.Time) bool {
	in := func(rs []client.ScheduleRange, v int) bool {
		for _, r := range rs {
			end, step := r.End, r.Step
			if end < r.Start {
				end = r.Start
			}
			if step == 0 {
				step = 1
			}
			if v >= r.Start && v <= end && (v-r.Start)%step == 0 {
				return true
			}
		}
		return false
	}
	for _, c := range cals {
		if in(c.Second, t.Second()) && in(c.Minute, t.Minute()) && in(c.Hour, t.Hour()) &&
			in(c.DayOfMonth, t.Day()) && in(c.Month, int(t.Month())) && in(c.DayOfWeek, int(t.Weekday())) {
			return true
		}
	}
	return false
}

func TestCalendarsMatchExactlyTheRulesFireTimes(t *testing.T) {
	t.Parallel()
	for _, text := range oracleRules {
		p, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		cals := p.Calendars()
		step, span := time.Minute, 40*24*time.Hour
		if p.HasSeconds() {
			step, span = time.Second, 3*time.Hour
		}
		start := time.Date(2026, 12, 30, 0, 0, 0, 0, time.UTC)
		next := p.Next(start.Add(-time.Second), time.UTC)
		for at := start; at.Before(start.Add(span)); at = at.Add(step) {
			fires := at.Equal(next)
			if fires {
				next = p.Next(at, time.UTC)
			}
			if matches(cals, at) != fires {
				t.Fatalf("%q at %s: calendars say %v, the rule says %v", text, at, !fires, fires)
			}
		}
	}
}

func TestSpecTimeZone(t *testing.T) {
	t.Parallel()
	p, err := Parse("0 9 * * *")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Spec("Mars/Olympus", time.Now()); err == nil {
		t.Error("Spec accepted an unknown zone")
	}
	s, err := p.Spec("Asia/Shanghai", time.Now())
	if err != nil || s.TimeZoneName != "Asia/Shanghai" || len(s.Calendars) != 1 {
		t.Errorf("Spec(Asia/Shanghai) = %+v, %v", s, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range oracleRules {
		f.Add(s)
	}
	f.Add("*/0 * * * *")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(text)
		if err != nil {
			return
		}
		cals := p.Calendars()
		if len(cals) == 0 {
			t.Fatalf("%q: no calendars", text)
		}
		for _, c := range cals {
			for k, rs := range [][]client.ScheduleRange{c.Second, c.Minute, c.Hour, c.DayOfMonth, c.Month, c.DayOfWeek} {
				if len(rs) == 0 {
					t.Fatalf("%q: field %d empty", text, k)
				}
				for _, r := range rs {
					hi := fieldDefs[k].max
					if fieldKind(k) == dow {
						hi = 6
					}
					if r.Start < fieldDefs[k].min || r.End > hi || r.End < r.Start || r.Step < 1 {
						t.Fatalf("%q: field %d range %+v out of bounds", text, k, r)
					}
				}
			}
		}
	})
}

func TestCronSpellingMeansTheSameRule(t *testing.T) {
	t.Parallel()
	parser := cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range append(oracleRules, "0 0 * * 7", "0 12 * * 5-7", "*/20 * * * * sun", "0 0 1 * 7") {
		ours, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		theirs, err := parser.Parse(ours.Cron())
		if err != nil {
			t.Fatalf("robfig Parse(%q) of %q: %v", ours.Cron(), text, err)
		}
		a := time.Date(2027, 3, 27, 22, 59, 58, 0, loc)
		b := a
		for i := 0; i < 40; i++ {
			a, b = ours.nextReal(a, loc), theirs.Next(b)
			if b.IsZero() {
				break // beyond robfig's five-year search
			}
			if !a.Equal(b) {
				t.Fatalf("%q as %q: fire %d: ours %s, robfig %s", text, ours.Cron(), i, a, b)
			}
		}
	}
}

// TestParseRefusesRulesThatNeverFire: fields that are each in range but
// never meet on a real date are refused like a bad field, and Next agrees
// with the verdict (it finds no fire in five years exactly when Parse
// refuses).
func TestParseRefusesRulesThatNeverFire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule  string
		never string // what the refusal says; "" when the rule fires
	}{
		{"0 0 30 2 *", "February has no day 30"},
		{"0 0 31 4 *", "April has no day 31"},
		{"0 0 0 31 4 *", "April has no day 31"},
		{"15 10 30,31 FEB ?", "February has no day 30 or 31"},
		{"0 0 31 2,4,6,9,11 *", "February, April, June, September and November have no day 31"},
		{"0 0 0 30-31 2 *", "February has no day 30 or 31"},
		{"0 0 29 2 *", ""},
		{"0 0 0 29 2 *", ""},
		{"0 0 31 4 1", ""}, // day of month or day of week: every Monday in April
		{"0 0 31 * *", ""},
		{"0 0 31 1-12/3 *", ""}, // January has a 31st
		{"0 0 30,31 2,3 *", ""},
		{"0 0 */10 2 *", ""},
	}
	starts := []time.Time{time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2031, 12, 31, 23, 59, 59, 0, time.UTC)}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.rule)
			switch {
			case tt.never == "" && err != nil:
				t.Fatalf("Parse(%q) = %v, want it accepted", tt.rule, err)
			case tt.never != "" && (!errors.Is(err, ErrInvalid) || !errors.Is(err, ErrNeverFires) ||
				!strings.Contains(err.Error(), "never fires: "+tt.never)):
				t.Fatalf("Parse(%q) = %v, want an ErrInvalid and ErrNeverFires saying %q", tt.rule, err, tt.never)
			}
			fields, err := parseFields(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			for _, from := range starts {
				if fires := !fields.Next(from, time.UTC).IsZero(); fires != (tt.never == "") {
					t.Errorf("Next(%s) of %q finds a fire: %v; Parse says it fires: %v", from, tt.rule, fires, tt.never == "")
				}
			}
		})
	}
}

// TestSpecRefusesTheHostsZone: "Local" and "" would follow the host's
// zone in Temporal while the task reads TZ=Local as UTC.
func TestSpecRefusesTheHostsZone(t *testing.T) {
	t.Parallel()
	p, err := Parse("0 9 * * *")
	if err != nil {
		t.Fatal(err)
	}
	for _, zone := range []string{"Local", ""} {
		if _, err := p.Spec(zone, time.Now()); err == nil || !strings.Contains(err.Error(), "IANA") {
			t.Errorf("Spec(%q) = %v, want refused for an IANA name", zone, err)
		}
	}
	if s, err := p.Spec("UTC", time.Now()); err != nil || s.TimeZoneName != "UTC" {
		t.Errorf("Spec(UTC) = %+v, %v", s, err)
	}
}

func TestMinGapIsTheClosestTwoFires(t *testing.T) {
	for _, tt := range []struct {
		rule string
		want time.Duration
	}{
		{"*/2 * * * * *", 2 * time.Second},
		{"0,50 * * * * *", 10 * time.Second}, // 50 → 0 round the minute
		{"*/15 * * * *", 15 * time.Minute},
		{"0 9,17 * * *", 8 * time.Hour},
		{"0 0 23,1 * * *", 2 * time.Hour}, // 23 → 1 round the day
		{"30 2 * * *", 24 * time.Hour},
		{"0 0 1 * *", 24 * time.Hour},
	} {
		r, err := Parse(tt.rule)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.MinGap(); got != tt.want {
			t.Errorf("%q: MinGap() = %s, want %s", tt.rule, got, tt.want)
		}
	}
}
