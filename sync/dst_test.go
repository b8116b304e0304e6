package tasksync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/rule"
)

// dstDays are the days clocks change in 2027 in zones of both
// hemispheres, two plain days in a zone without DST, half-hour changes
// (Lord Howe Island) and a change at midnight (Santiago).
var dstDays = []struct {
	zone string
	day  string // local date
}{
	{"America/New_York", "2027-03-14"}, {"America/New_York", "2027-11-07"},
	{"Europe/London", "2027-03-28"}, {"Europe/London", "2027-10-31"},
	{"Australia/Sydney", "2027-04-04"}, {"Australia/Sydney", "2027-10-03"},
	{"Asia/Tokyo", "2027-03-14"}, {"Asia/Tokyo", "2027-11-07"},
	{"Australia/Lord_Howe", "2027-04-04"}, {"Australia/Lord_Howe", "2027-10-03"},
	{"America/Santiago", "2027-04-04"}, {"America/Santiago", "2027-09-05"},
}

// dstRules are fixed-time rules (once per local time) and rules that
// follow real time.
var dstRules = []string{"0 30 2 * * *", "0 30 1 * * *", "0 0 1,2,3 * * *", "30 2 * * *", "15 1,2 * * 0",
	"0 30 0 * * *", "0 0 0 * * *", "0 30 1 3,7,31 * 0", "0 0,30 1-3 * * *", "30 0 * * 0",
	"0 0 * * * *", "*/30 * * * *", "0 */20 1,2 * * *", "*/5 * * * *", "* * * * *"}

// TestTemporalAgreesWithTheRuleOnDSTDays: on the days clocks change, and
// the days around them, Temporal fires the spec Spec builds a few days
// before exactly when the rule's Next says (the missed-run check and the
// console rely on that agreement), as Temporal itself lists them.
func TestTemporalAgreesWithTheRuleOnDSTDays(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	i := 0
	for _, d := range dstDays {
		loc, err := time.LoadLocation(d.zone)
		if err != nil {
			t.Fatal(err)
		}
		day, err := time.Parse(time.DateOnly, d.day)
		if err != nil {
			t.Fatal(err)
		}
		// From the midnight before the day before to the one after the day after.
		from := time.Date(day.Year(), day.Month(), day.Day()-1, 0, 0, 0, 0, loc)
		to := time.Date(day.Year(), day.Month(), day.Day()+2, 0, 0, 0, 0, loc)
		for _, text := range dstRules {
			i++
			r, err := rule.Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := r.Spec(d.zone, from.AddDate(0, 0, -4))
			if err != nil {
				t.Fatal(err)
			}
			spec.StartAt = from
			id := fmt.Sprintf("%sdst%d", env.Config.ScheduleIDPrefix, i)
			h, err := env.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: id, Spec: spec, Paused: true,
				Action: &client.ScheduleWorkflowAction{ID: id, Workflow: "RunTask", TaskQueue: env.Config.TaskQueue}})
			if err != nil {
				t.Fatalf("%q in %s: create: %v", text, d.zone, err)
			}
			t.Cleanup(func() { _ = h.Delete(context.Background()) })
			// Temporal lists up to 1000 times in (StartTime, EndTime] a call.
			var got, want []string
			for start := from; start.Before(to); {
				resp, err := env.Temporal.WorkflowService().ListScheduleMatchingTimes(ctx, &workflowservice.ListScheduleMatchingTimesRequest{
					Namespace: env.Config.TemporalNamespace, ScheduleId: id,
					StartTime: timestamppb.New(start), EndTime: timestamppb.New(to)})
				if err != nil {
					t.Fatalf("%q in %s: matching times: %v", text, d.zone, err)
				}
				if len(resp.StartTime) == 0 {
					break
				}
				for _, at := range resp.StartTime {
					got = append(got, at.AsTime().In(loc).Format(time.RFC3339))
				}
				start = resp.StartTime[len(resp.StartTime)-1].AsTime()
			}
			for at := r.Next(from, loc); !at.After(to); at = r.Next(at, loc) {
				want = append(want, at.Format(time.RFC3339))
			}
			if k := firstDiff(got, want); k >= 0 {
				t.Errorf("%q in %s around %s: Temporal's fire %d of %d is %s, the rule's (of %d) is %s",
					text, d.zone, d.day, k, len(got), at(got, k), len(want), at(want, k))
			}
		}
	}
}

// firstDiff returns the first index where a and b differ, or -1.
func firstDiff(a, b []string) int {
	for k := range max(len(a), len(b)) {
		if at(a, k) != at(b, k) {
			return k
		}
	}
	return -1
}

// at returns s[k], or "none" past its end.
func at(s []string, k int) string {
	if k < len(s) {
		return s[k]
	}
	return "none"
}

// TestSpecRefreshesAfterATransition: the spec of a fixed-time rule holds
// the coming DST transitions, so sync rewrites the schedule once a day
// after one passes, and not otherwise.
func TestSpecRefreshesAfterATransition(t *testing.T) {
	t.Parallel()
	s, env := setup(t)
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2027, 3, 10, 12, 0, 0, 0, ny)
	s.Now = func() time.Time { return now }
	if err := env.Store.UpsertTask(ctx, task("nightly", "30 2 * * *", "America/New_York")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at          time.Time
		wantUpdated int
	}{
		{time.Date(2027, 3, 10, 12, 0, 30, 0, ny), 0},
		{time.Date(2027, 3, 14, 12, 0, 0, 0, ny), 0}, // the gap passed, its fire kept a day
		{time.Date(2027, 3, 15, 12, 0, 0, 0, ny), 1}, // now the next spring-forward
		{time.Date(2027, 3, 15, 12, 0, 30, 0, ny), 0},
	}
	if st, err := s.ReconcileTask(ctx, "nightly"); err != nil || st.Created != 1 {
		t.Fatalf("create: %+v %v", st, err)
	}
	for _, step := range steps {
		now = step.at
		st, err := s.ReconcileTask(ctx, "nightly")
		if err != nil || st.Updated != step.wantUpdated || st.Writes() != step.wantUpdated {
			t.Errorf("re-sync at %s: %+v %v, want %d updates and no other write", step.at, st, err, step.wantUpdated)
		}
	}
}
