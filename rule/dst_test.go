package rule

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFixedTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule  string
		fixed bool
	}{
		{"0 30 2 * * *", true},
		{"30 2 * * *", true},
		{"0 0 1,2,3 * * *", true},
		{"15 10 1,15 * 5", true},
		{"0 0-59 2 * * *", true}, // 60 fires an hour
		{"0-1 0-59 2 * * *", false},
		{"*/30 2 * * *", false},
		{"0 */10 2 * * *", false},
		{"* 30 2 * * *", false},
		{"0 0 * * * *", false},
		{"0 * * * *", false},
		{"*/30 * * * *", false},
	}
	for _, tt := range tests {
		p, err := Parse(tt.rule)
		if err != nil {
			t.Fatal(err)
		}
		if p.FixedTime() != tt.fixed {
			t.Errorf("FixedTime(%q) = %v, want %v", tt.rule, p.FixedTime(), tt.fixed)
		}
	}
}

// TestNextOnDSTDays: on the days clocks change, a fixed-time rule fires
// once for each local time it names (a skipped time at the end of the
// gap, a repeated time at its first occurrence), and other rules follow
// real time; the days around are plain.
func TestNextOnDSTDays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		zone, day, rule string
		want            []string // the day's fires, local "15:04:05 MST"; nil: count them
		count           int      // the day's fires, when want is nil
		around          int      // fires on the day before and the day after
	}{
		// New York springs forward from 02:00 EST to 03:00 EDT.
		{zone: "America/New_York", day: "2027-03-14", rule: "0 30 2 * * *", want: []string{"03:00:00 EDT"}, around: 1},
		{zone: "America/New_York", day: "2027-03-14", rule: "30 2 * * *", want: []string{"03:00:00 EDT"}, around: 1},
		{zone: "America/New_York", day: "2027-03-14", rule: "0 30 1 * * *", want: []string{"01:30:00 EST"}, around: 1},
		{zone: "America/New_York", day: "2027-03-14", rule: "0 0 1,2,3 * * *", want: []string{"01:00:00 EST", "03:00:00 EDT"}, around: 3},
		{zone: "America/New_York", day: "2027-03-14", rule: "0 0,30 2 * * *", want: []string{"03:00:00 EDT"}, around: 2},
		{zone: "America/New_York", day: "2027-03-14", rule: "15 2 * * 0", want: []string{"03:00:00 EDT"}, around: 0},
		{zone: "America/New_York", day: "2027-03-14", rule: "0 0 * * * *", count: 23, around: 24},
		{zone: "America/New_York", day: "2027-03-14", rule: "*/30 * * * *", count: 46, around: 48},
		{zone: "America/New_York", day: "2027-03-14", rule: "0 */20 2 * * *", count: 0, around: 3},
		// New York falls back from 02:00 EDT to 01:00 EST.
		{zone: "America/New_York", day: "2027-11-07", rule: "0 30 1 * * *", want: []string{"01:30:00 EDT"}, around: 1},
		{zone: "America/New_York", day: "2027-11-07", rule: "30 1 * * *", want: []string{"01:30:00 EDT"}, around: 1},
		{zone: "America/New_York", day: "2027-11-07", rule: "0 30 2 * * *", want: []string{"02:30:00 EST"}, around: 1},
		{zone: "America/New_York", day: "2027-11-07", rule: "0 0 1,2,3 * * *", want: []string{"01:00:00 EDT", "02:00:00 EST", "03:00:00 EST"}, around: 3},
		{zone: "America/New_York", day: "2027-11-07", rule: "0 0 * * * *", count: 25, around: 24},
		{zone: "America/New_York", day: "2027-11-07", rule: "*/30 * * * *", count: 50, around: 48},
		{zone: "America/New_York", day: "2027-11-07", rule: "0 */20 1 * * *", around: 3,
			want: []string{"01:00:00 EDT", "01:20:00 EDT", "01:40:00 EDT", "01:00:00 EST", "01:20:00 EST", "01:40:00 EST"}},
		// London springs forward from 01:00 GMT to 02:00 BST, and falls back.
		{zone: "Europe/London", day: "2027-03-28", rule: "0 30 1 * * *", want: []string{"02:00:00 BST"}, around: 1},
		{zone: "Europe/London", day: "2027-03-28", rule: "0 0 1,2,3 * * *", want: []string{"02:00:00 BST", "03:00:00 BST"}, around: 3},
		{zone: "Europe/London", day: "2027-03-28", rule: "0 0 * * * *", count: 23, around: 24},
		{zone: "Europe/London", day: "2027-10-31", rule: "0 30 1 * * *", want: []string{"01:30:00 BST"}, around: 1},
		{zone: "Europe/London", day: "2027-10-31", rule: "0 30 0 * * *", want: []string{"00:30:00 BST"}, around: 1},
		{zone: "Europe/London", day: "2027-10-31", rule: "0 0 * * * *", count: 25, around: 24},
		// Sydney falls back from 03:00 AEDT to 02:00 AEST in April and
		// springs forward from 02:00 AEST to 03:00 AEDT in October.
		{zone: "Australia/Sydney", day: "2027-04-04", rule: "0 30 2 * * *", want: []string{"02:30:00 AEDT"}, around: 1},
		{zone: "Australia/Sydney", day: "2027-04-04", rule: "30 2 * * *", want: []string{"02:30:00 AEDT"}, around: 1},
		{zone: "Australia/Sydney", day: "2027-04-04", rule: "0 30 1 * * *", want: []string{"01:30:00 AEDT"}, around: 1},
		{zone: "Australia/Sydney", day: "2027-04-04", rule: "0 0 * * * *", count: 25, around: 24},
		{zone: "Australia/Sydney", day: "2027-10-03", rule: "0 30 2 * * *", want: []string{"03:00:00 AEDT"}, around: 1},
		{zone: "Australia/Sydney", day: "2027-10-03", rule: "0 0 1,2,3 * * *", want: []string{"01:00:00 AEST", "03:00:00 AEDT"}, around: 3},
		{zone: "Australia/Sydney", day: "2027-10-03", rule: "0 0 * * * *", count: 23, around: 24},
		// Lord Howe Island moves its clocks by half an hour, from 02:00 to
		// 02:30 and back from 02:00 to 01:30.
		{zone: "Australia/Lord_Howe", day: "2027-10-03", rule: "0 0 2 * * *", want: []string{"02:30:00 +11"}, around: 1},
		{zone: "Australia/Lord_Howe", day: "2027-10-03", rule: "0 0 * * * *", count: 23, around: 24},
		{zone: "Australia/Lord_Howe", day: "2027-04-04", rule: "0 45 1 * * *", want: []string{"01:45:00 +11"}, around: 1},
		{zone: "Australia/Lord_Howe", day: "2027-04-04", rule: "0 */30 * * * *", count: 49, around: 48},
		// Santiago springs forward from 00:00 to 01:00 on Sunday 2027-09-05.
		{zone: "America/Santiago", day: "2027-09-05", rule: "30 0 * * 0", want: []string{"01:00:00 -03"}, around: 0},
		{zone: "America/Santiago", day: "2027-09-05", rule: "15 1,2 * * 0", want: []string{"01:15:00 -03", "02:15:00 -03"}, around: 0},
		// Tokyo keeps its clocks.
		{zone: "Asia/Tokyo", day: "2027-03-14", rule: "0 30 2 * * *", want: []string{"02:30:00 JST"}, around: 1},
		{zone: "Asia/Tokyo", day: "2027-11-07", rule: "30 1 * * *", want: []string{"01:30:00 JST"}, around: 1},
		{zone: "Asia/Tokyo", day: "2027-11-07", rule: "0 0 * * * *", count: 24, around: 24},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.day+" "+tt.rule, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			day, err := time.Parse(time.DateOnly, tt.day)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			local := func(days int) time.Time { // midnight, or the gap's end
				d := day.AddDate(0, 0, days)
				return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
			}
			byDay := map[string][]string{}
			prev := local(-1).Add(-time.Second)
			for at := p.Next(prev, loc); at.Before(local(2)); at = p.Next(at, loc) {
				if !at.After(prev) || at.Location() != loc {
					t.Fatalf("Next(%s) = %s, want a later time in %s", prev, at, loc)
				}
				prev = at
				byDay[at.Format(time.DateOnly)] = append(byDay[at.Format(time.DateOnly)], at.Format("15:04:05 MST"))
			}
			got := byDay[tt.day]
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) || tt.want == nil && len(got) != tt.count {
				t.Errorf("on %s: %d fires %s, want %d %s", tt.day, len(got), strings.Join(got, ", "),
					max(tt.count, len(tt.want)), strings.Join(tt.want, ", "))
			}
			for _, d := range []time.Time{day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)} {
				if n := len(byDay[d.Format(time.DateOnly)]); n != tt.around {
					t.Errorf("on %s: %d fires, want %d", d.Format(time.DateOnly), n, tt.around)
				}
			}
		})
	}
}

// TestNextFromInsideARepeatedHour: counting from the second pass of a
// repeated hour, a fixed-time rule's time in it has passed already.
func TestNextFromInsideARepeatedHour(t *testing.T) {
	t.Parallel()
	ny, _ := time.LoadLocation("America/New_York")
	p, _ := Parse("0 45 1 * * *")
	secondPass := time.Date(2027, 11, 7, 6, 15, 0, 0, time.UTC) // 01:15 EST
	if got, want := p.Next(secondPass, ny), time.Date(2027, 11, 8, 1, 45, 0, 0, ny); !got.Equal(want) {
		t.Errorf("Next(01:15 EST) = %s, want %s", got, want)
	}
	firstPass := time.Date(2027, 11, 7, 5, 15, 0, 0, time.UTC) // 01:15 EDT
	if got, want := p.Next(firstPass, ny), time.Date(2027, 11, 7, 5, 45, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next(01:15 EDT) = %s, want %s", got, want)
	}
}

// TestSpecChangesOnlyWhenATransitionPasses: sync compares specs, so the
// spec built at any time between two transitions must be the same; it
// changes only a day after one, and not at all in zones without DST.
func TestSpecChangesOnlyWhenATransitionPasses(t *testing.T) {
	t.Parallel()
	start, end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, zone := range []string{"America/New_York", "Australia/Sydney", "Asia/Tokyo", "UTC"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		// A transition leaves the spec a day after it, seen at the first
		// step from then.
		const step = 3 * time.Hour
		passed := map[int64]bool{}
		for _, tr := range transitions(loc, start.Add(-specHold), end.Add(-specHold)) {
			n := (tr.at.Add(specHold).Sub(start) + step - 1) / step
			passed[start.Add(n*step).Unix()] = true
		}
		for _, text := range []string{"30 2 * * *", "0 0 1,2,3 * * *", "0 * * * *"} {
			p, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			last, err := p.Spec(zone, start)
			if err != nil {
				t.Fatal(err)
			}
			var changes []time.Time
			for now := start; now.Before(end); now = now.Add(step) {
				s, err := p.Spec(zone, now)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(s, last) {
					changes = append(changes, now)
					last = s
				}
			}
			for _, c := range changes {
				if !passed[c.Unix()] {
					t.Errorf("%q in %s: the spec changed at %s, not a day after a transition", text, zone, c)
				}
			}
			if dst := len(passed) > 0; dst != (len(changes) >= 2) {
				t.Errorf("%q in %s: the spec changed at %v in two years", text, zone, changes)
			}
			if len(passed) == 0 && (len(last.Intervals) != 0 || !reflect.DeepEqual(last.Calendars, p.Calendars())) {
				t.Errorf("%q in %s: spec %+v, want the plain calendars", text, zone, last)
			}
		}
	}
}

// TestNextWallIsNextRealInUTC: the jumping walk through local times finds
// what the stepping one does.
func TestNextWallIsNextRealInUTC(t *testing.T) {
	t.Parallel()
	for _, text := range append(oracleRules, "0 30 2 * * *", "0 0 1,2,3 * * *", "15 1,2 * * 0", "0 30 1 3,7,31 * 0",
		"0 0 29 2 *", "0 0 0 31 * *", "10-20/5 59 23 * * 6") {
		p, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		a := time.Date(2027, 12, 30, 23, 59, 58, 0, time.UTC)
		b := a
		for i := range 300 {
			a, b = p.nextWall(a), p.nextReal(b, time.UTC)
			if !a.Equal(b) {
				t.Fatalf("%q: fire %d: nextWall %s, nextReal %s", text, i, a, b)
			}
			if a.IsZero() {
				break
			}
		}
	}
}
