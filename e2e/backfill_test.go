package e2e

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
)

// Acceptance 6: a backfill of a `0 * * * *` task over the last 6 hours
// runs 6 runs, one at a time and in order, each with its own
// SCHETASK_SCHEDULED_TIME, each marked with the backfill; a dry run
// starts nothing; a range over the cap is refused with the count.
func TestBackfillRunsEachFireOfTheRangeInOrder(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	ctx := context.Background()
	s.writeTask(t, "hourly", map[string]string{"index.js": `console.log('scheduled ' + process.env.SCHETASK_SCHEDULED_TIME);`})
	s.insertTask(t, &testenv.TaskOpts{Name: "hourly", Rule: "0 * * * *"})
	testenv.Eventually(t, 10*time.Second, func() string { // sync makes the schedule
		_, err := s.env.Temporal.ScheduleClient().GetHandle(ctx, s.env.Config.ScheduleIDPrefix+"hourly").Describe(ctx)
		if err != nil {
			return err.Error()
		}
		return ""
	})

	to := time.Now().Truncate(time.Second)
	if to.Equal(to.Truncate(time.Hour)) {
		to = to.Add(-time.Second) // six fires in (to-6h, to], not seven in [to-6h, to]
	}
	from := to.Add(-6 * time.Hour)

	// Over the cap: refused with the count, nothing recorded.
	twoMonths := to.Add(-60 * 24 * time.Hour)
	_, err := s.control.Backfill(ctx, "hourly", twoMonths, to, 0, false, "alice", false)
	var many *control.TooManyFiresError
	if !errors.As(err, &many) || many.Fires != 60*24 || many.Max != control.DefaultBackfillMax ||
		!strings.Contains(err.Error(), "1440 fires") {
		t.Errorf("backfill of 60 days of an hourly task: %v, want refused with 1440 fires over %d", err, control.DefaultBackfillMax)
	}
	dry, err := s.control.Backfill(ctx, "hourly", from, to, 0, false, "alice", true)
	if err != nil || dry.Fires != 6 || dry.ID != 0 {
		t.Fatalf("dry run: %+v, %v; want 6 fires, no backfill id", dry, err)
	}
	res, err := s.control.Backfill(ctx, "hourly", from, to, 0, false, "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fires != 6 || res.ID == 0 {
		t.Fatalf("backfill: %+v, want 6 fires and an id", res)
	}

	var runs []tasktype.Run
	testenv.Eventually(t, 60*time.Second, func() string {
		runs = runs[:0]
		all := s.runs(t, "hourly")
		for _, r := range all {
			if r.EndTime != nil && r.BackfillID != nil && *r.BackfillID == res.ID {
				runs = append(runs, r)
			}
		}
		if len(runs) < 6 {
			return "fewer than 6 ended runs of the backfill: " + describeRuns(all)
		}
		return ""
	})
	// Any other run is the schedule's own fire, when the test spans an
	// hour: the dry run started none.
	for _, r := range s.runs(t, "hourly") {
		if (r.BackfillID == nil || *r.BackfillID != res.ID) && !r.ScheduledTime.After(to) {
			t.Errorf("run %d scheduled at %s is not the backfill's (backfill_id %v, want %d)", r.ID, r.ScheduledTime.UTC(), r.BackfillID, res.ID)
		}
	}
	if len(runs) != 6 {
		t.Fatalf("%d runs of the backfill, want 6: %s", len(runs), describeRuns(runs))
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ScheduledTime.Before(runs[j].ScheduledTime) })
	first := from.Truncate(time.Hour).Add(time.Hour)
	for i, r := range runs {
		wantAt := first.Add(time.Duration(i) * time.Hour)
		if !r.ScheduledTime.Equal(wantAt) {
			t.Errorf("run %d scheduled at %s, want %s", r.ID, r.ScheduledTime.UTC(), wantAt.UTC())
		}
		if r.Status != tasktype.RunSucceeded {
			t.Errorf("run %d %s: %s", r.ID, r.Status, r.Error)
		}
		if r.BackfillID == nil || *r.BackfillID != res.ID {
			t.Errorf("run %d backfill_id %v, want %d", r.ID, r.BackfillID, res.ID)
		}
		log, err := os.ReadFile(s.layout.Abs(r.LogPath))
		if err != nil {
			t.Fatal(err)
		}
		if want := "scheduled " + wantAt.UTC().Format(time.RFC3339); !strings.Contains(string(log), want) {
			t.Errorf("log of run %d is %q, want %q", r.ID, log, want)
		}
		// One at a time, in order: each starts after the one before ended.
		if i > 0 {
			prev := runs[i-1]
			if prev.EndTime == nil || !r.StartTime.After(*prev.EndTime) {
				t.Errorf("run %d (%s) started at %s, before run %d (%s) ended at %v", r.ID, r.ScheduledTime.UTC(),
					r.StartTime, prev.ID, prev.ScheduledTime.UTC(), prev.EndTime)
			}
		}
	}

	// Both ends of a range are fires of it: [H-10h, H-8h] on the hour
	// runs three.
	hour := to.Truncate(time.Hour)
	edges, err := s.control.Backfill(ctx, "hourly", hour.Add(-10*time.Hour), hour.Add(-8*time.Hour), 0, false, "alice", false)
	if err != nil || edges.Fires != 3 {
		t.Fatalf("backfill of three hours' edges: %+v, %v; want 3 fires", edges, err)
	}
	testenv.Eventually(t, 30*time.Second, func() string {
		var got []string
		for _, r := range s.runs(t, "hourly") {
			if r.BackfillID != nil && *r.BackfillID == edges.ID && r.Status == tasktype.RunSucceeded {
				got = append(got, r.ScheduledTime.UTC().Format(time.RFC3339))
			}
		}
		sort.Strings(got)
		want := []string{hour.Add(-10 * time.Hour).UTC().Format(time.RFC3339), hour.Add(-9 * time.Hour).UTC().Format(time.RFC3339),
			hour.Add(-8 * time.Hour).UTC().Format(time.RFC3339)}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			return "runs of the edges backfill: " + strings.Join(got, " ") + "; want " + strings.Join(want, " ")
		}
		return ""
	})
}
