package rule_test

import (
	"testing"
	"time"

	"github.com/schetask/schetask/rule"
)

func TestLogicalDate(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string, loc *time.Location) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tt := range []struct {
		desc   string
		t      time.Time
		period time.Duration
		loc    *time.Location
		want   time.Time
	}{
		{desc: "daily task: local midnight", t: at("2026-03-10 02:20:07", berlin), period: 24 * time.Hour, loc: berlin,
			want: at("2026-03-10 00:00:00", berlin)},
		{desc: "daily task late past midnight UTC keeps its local day", t: at("2026-03-10 23:30:00", time.UTC), period: 24 * time.Hour, loc: berlin,
			want: at("2026-03-11 00:00:00", berlin)},
		{desc: "weekly rule counts as daily", t: at("2026-03-10 12:00:00", berlin), period: 7 * 24 * time.Hour, loc: berlin,
			want: at("2026-03-10 00:00:00", berlin)},
		{desc: "no period: the day", t: at("2026-03-10 12:00:00", time.UTC), period: 0, loc: nil,
			want: at("2026-03-10 00:00:00", time.UTC)},
		{desc: "hourly", t: at("2026-03-10 14:59:59", berlin), period: time.Hour, loc: berlin,
			want: at("2026-03-10 14:00:00", berlin)},
		{desc: "every 15 minutes", t: at("2026-03-10 14:44:10", time.UTC), period: 15 * time.Minute, loc: time.UTC,
			want: at("2026-03-10 14:30:00", time.UTC)},
		{desc: "every 5 seconds, a retry 3s late", t: at("2026-03-10 14:44:13", time.UTC), period: 5 * time.Second, loc: time.UTC,
			want: at("2026-03-10 14:44:10", time.UTC)},
		{desc: "spring forward: hourly after the jump", t: time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), period: time.Hour, loc: berlin,
			// 01:30 UTC is 03:30 CEST, two real hours after midnight CET.
			want: time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{desc: "spring forward: daily", t: time.Date(2026, 3, 29, 20, 0, 0, 0, time.UTC), period: 24 * time.Hour, loc: berlin,
			want: time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC)},
		{desc: "fall back: first 02:30 (CEST)", t: time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), period: time.Hour, loc: berlin,
			want: time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)},
		{desc: "fall back: second 02:30 (CET) is a date of its own", t: time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), period: time.Hour, loc: berlin,
			want: time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC)},
		{desc: "spring forward: a two-hourly fire keeps the wall clock's date", t: time.Date(2026, 3, 8, 8, 0, 0, 0, time.UTC), period: 2 * time.Hour, loc: newYork,
			// 08:00 UTC is 04:00 EDT, three real hours after midnight EST:
			// its date is 04:00, not 03:00.
			want: time.Date(2026, 3, 8, 8, 0, 0, 0, time.UTC)},
		{desc: "fall back: daily is the one midnight", t: time.Date(2026, 10, 25, 22, 30, 0, 0, time.UTC), period: 24 * time.Hour, loc: berlin,
			want: time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := rule.LogicalDate(tt.t, tt.period, tt.loc); !got.Equal(tt.want) {
				t.Errorf("LogicalDate(%s, %s) = %s, want %s", tt.t, tt.period, got.UTC(), tt.want.UTC())
			}
		})
	}
}

func TestPeriod(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rule   string
		want   time.Duration
		wantOK bool
	}{
		{"0 2 * * *", 24 * time.Hour, true},
		{"0 * * * *", time.Hour, true},
		{"*/5 * * * * *", 5 * time.Second, true},
		{"", 0, false},
		{"not a rule", 0, false},
	} {
		got, ok := rule.Period(tt.rule)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Period(%q) = %s, %v; want %s, %v", tt.rule, got, ok, tt.want, tt.wantOK)
		}
	}
}
