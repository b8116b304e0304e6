package tasktype_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/tasktype"
)

func TestParseDeadline(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    tasktype.Deadline // compared by After, Hour, Minute
		wantErr string            // "" means valid
	}{
		{"", tasktype.Deadline{}, ""},
		{"07:00", tasktype.Deadline{Hour: 7}, ""},
		{"00:00", tasktype.Deadline{}, ""},
		{"23:59", tasktype.Deadline{Hour: 23, Minute: 59}, ""},
		{"+10s", tasktype.Deadline{After: 10 * time.Second}, ""},
		{"+90m", tasktype.Deadline{After: 90 * time.Minute}, ""},
		{"+2h", tasktype.Deadline{After: 2 * time.Hour}, ""},
		{"+999999s", tasktype.Deadline{After: 999999 * time.Second}, ""},
		{"7:00", tasktype.Deadline{}, "is not a time HH:MM"},
		{"24:00", tasktype.Deadline{}, "is not a time of day"},
		{"07:60", tasktype.Deadline{}, "is not a time of day"},
		{"07:00 ", tasktype.Deadline{}, "is not a time HH:MM"},
		{"0700", tasktype.Deadline{}, "is not a time HH:MM"},
		{"+0h", tasktype.Deadline{}, "from 1 to 999999"},
		{"+02h", tasktype.Deadline{}, "from 1 to 999999"},
		{"+1000000s", tasktype.Deadline{}, "from 1 to 999999"},
		{"+2d", tasktype.Deadline{}, "is not +<n>s, +<n>m or +<n>h"},
		{"+h", tasktype.Deadline{}, "is not +<n>s, +<n>m or +<n>h"},
		{"+", tasktype.Deadline{}, "is not +<n>s, +<n>m or +<n>h"},
		{"+1.5h", tasktype.Deadline{}, "from 1 to 999999"},
		{"2h", tasktype.Deadline{}, "is not a time HH:MM"},
	} {
		got, err := tasktype.ParseDeadline(tt.in)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("ParseDeadline(%q): %v", tt.in, err)
			} else if got.After != tt.want.After || got.Hour != tt.want.Hour || got.Minute != tt.want.Minute ||
				got.String() != tt.in || got.IsZero() != (tt.in == "") {
				t.Errorf("ParseDeadline(%q) = %+v (%q)", tt.in, got, got.String())
			}
			continue
		}
		if err == nil || !errors.Is(err, tasktype.ErrInvalidDeadline) || !strings.Contains(err.Error(), tt.wantErr) ||
			!strings.Contains(err.Error(), `"`+tt.in+`"`) || !strings.Contains(err.Error(), "HH:MM") {
			t.Errorf("ParseDeadline(%q) error %v, want one saying %q", tt.in, err, tt.wantErr)
		}
	}
}

// TestDeadlineAt: a delay counts from the nominal time; a time of day is
// read on the logical date's day in the task's zone, or the next day's
// when it is not after the logical date, and keeps to the local clock
// across DST changes.
func TestDeadlineAt(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	ny, paris, tokyo := zone("America/New_York"), zone("Europe/Paris"), zone("Asia/Tokyo")
	for _, tt := range []struct {
		name     string
		deadline string
		logical  time.Time
		nominal  time.Time // zero: the logical date
		loc      *time.Location
		want     time.Time
	}{
		{"+2h after the nominal fire, not the logical date", "+2h",
			time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 10, 5, 0, 0, time.UTC), time.UTC,
			time.Date(2026, 11, 26, 12, 5, 0, 0, time.UTC)},
		{"+10s after a chain run's logical date", "+10s",
			time.Date(2026, 11, 26, 10, 1, 0, 0, time.UTC), time.Time{}, time.UTC,
			time.Date(2026, 11, 26, 10, 1, 10, 0, time.UTC)},
		{"+2h across midnight", "+2h",
			time.Date(2026, 11, 26, 23, 0, 0, 0, paris), time.Time{}, paris,
			time.Date(2026, 11, 27, 1, 0, 0, 0, paris)},
		{"+2h is elapsed time across a spring-forward gap", "+2h",
			time.Date(2027, 3, 14, 1, 0, 0, 0, ny), time.Time{}, ny,
			time.Date(2027, 3, 14, 4, 0, 0, 0, ny)},
		{"07:00 on a daily logical date's day, in the task's zone", "07:00",
			time.Date(2026, 11, 26, 0, 0, 0, 0, tokyo), time.Time{}, tokyo,
			time.Date(2026, 11, 26, 7, 0, 0, 0, tokyo)},
		{"07:00 in New York is not 07:00 UTC", "07:00",
			time.Date(2026, 11, 26, 0, 0, 0, 0, ny), time.Time{}, ny,
			time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)},
		{"the time of day is read on the logical date, not the nominal fire", "07:00",
			time.Date(2026, 11, 26, 0, 0, 0, 0, paris), time.Date(2026, 11, 26, 9, 0, 0, 0, paris), paris,
			time.Date(2026, 11, 26, 7, 0, 0, 0, paris)},
		{"a time of day not after the logical date is the next day's", "07:00",
			time.Date(2026, 11, 26, 22, 0, 0, 0, paris), time.Time{}, paris,
			time.Date(2026, 11, 27, 7, 0, 0, 0, paris)},
		{"exactly the logical date is not after it", "07:00",
			time.Date(2026, 11, 26, 7, 0, 0, 0, paris), time.Time{}, paris,
			time.Date(2026, 11, 27, 7, 0, 0, 0, paris)},
		{"00:00 on a daily logical date is the next midnight", "00:00",
			time.Date(2026, 11, 26, 0, 0, 0, 0, paris), time.Time{}, paris,
			time.Date(2026, 11, 27, 0, 0, 0, 0, paris)},
		{"the logical date's day is the task's zone's, not UTC's", "07:00",
			time.Date(2026, 11, 27, 0, 0, 0, 0, tokyo), time.Time{}, tokyo, // 2026-11-26 15:00 UTC
			time.Date(2026, 11, 27, 7, 0, 0, 0, tokyo)},
		{"07:00 after a spring-forward night keeps the local clock", "07:00",
			time.Date(2027, 3, 14, 0, 0, 0, 0, ny), time.Time{}, ny,
			time.Date(2027, 3, 14, 11, 0, 0, 0, time.UTC)},
		{"07:00 after a fall-back night keeps the local clock", "07:00",
			time.Date(2027, 11, 7, 0, 0, 0, 0, ny), time.Time{}, ny,
			time.Date(2027, 11, 7, 12, 0, 0, 0, time.UTC)},
		{"a time a spring-forward gap skips is the gap's end", "02:30",
			time.Date(2027, 3, 14, 0, 0, 0, 0, ny), time.Time{}, ny,
			time.Date(2027, 3, 14, 7, 0, 0, 0, time.UTC)}, // 03:00 EDT
		{"a time a fall-back repeats is its first occurrence", "01:30",
			time.Date(2027, 11, 7, 0, 0, 0, 0, ny), time.Time{}, ny,
			time.Date(2027, 11, 7, 5, 30, 0, 0, time.UTC)}, // 01:30 EDT
		{"Paris's gap too", "02:15",
			time.Date(2027, 3, 28, 0, 0, 0, 0, paris), time.Time{}, paris,
			time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC)}, // 03:00 CEST
		{"an hourly logical date's deadline the next day", "07:00",
			time.Date(2027, 11, 7, 1, 0, 0, 0, ny).Add(time.Hour), time.Time{}, ny, // the second 01:00 (EST)
			time.Date(2027, 11, 7, 12, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tasktype.ParseDeadline(tt.deadline)
			if err != nil {
				t.Fatal(err)
			}
			nominal := tt.nominal
			if nominal.IsZero() {
				nominal = tt.logical
			}
			if got := d.At(tt.logical, nominal, tt.loc); !got.Equal(tt.want) {
				t.Errorf("%s.At(%s, %s) = %s, want %s", tt.deadline, tt.logical.In(tt.loc), nominal.In(tt.loc),
					got.In(tt.loc), tt.want.In(tt.loc))
			}
		})
	}
	if got := (tasktype.Deadline{}).At(time.Now(), time.Now(), time.UTC); !got.IsZero() {
		t.Errorf("no deadline is at %s", got)
	}
}
