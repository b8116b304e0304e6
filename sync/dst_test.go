package tasksync_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/rule"
)

// On the days clocks change, the translated specs fire when the rule's
// own Next says (the missed-run check relies on that agreement).
func TestTemporalAgreesWithTheRuleOnDSTDays(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cases := []struct {
		rule  string
		loc   *time.Location
		start time.Time
	}{
		{"30 2 * * *", ny, time.Date(2027, 3, 12, 12, 0, 0, 0, ny)},
		{"0 * * * *", ny, time.Date(2027, 3, 14, 0, 0, 0, 0, ny)},
		{"30 1 * * *", ny, time.Date(2027, 11, 5, 12, 0, 0, 0, ny)},
		{"*/30 * * * *", ny, time.Date(2027, 11, 7, 0, 0, 0, 0, ny)},
		{"30 2 * * *", berlin, time.Date(2027, 3, 27, 12, 0, 0, 0, berlin)},
	}
	for i, c := range cases {
		r, err := rule.Parse(c.rule)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := r.Spec(c.loc.String())
		if err != nil {
			t.Fatal(err)
		}
		spec.StartAt = c.start
		id := env.Config.ScheduleIDPrefix + "dst" + string(rune('a'+i))
		h, err := env.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: id, Spec: spec, Paused: true,
			Action: &client.ScheduleWorkflowAction{ID: id, Workflow: "RunTask", TaskQueue: env.Config.TaskQueue}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Delete(context.Background()) })
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Info.NextActionTimes) < 5 {
			t.Fatalf("%q: Temporal lists %d next fires", c.rule, len(d.Info.NextActionTimes))
		}
		want := r.Next(c.start.Add(-time.Second), c.loc)
		for k, got := range d.Info.NextActionTimes {
			if !got.Equal(want) {
				t.Errorf("%q in %s from %s: Temporal's fire %d is %s, the rule's is %s",
					c.rule, c.loc, c.start, k, got.In(c.loc), want)
				break
			}
			want = r.Next(want, c.loc)
		}
	}
}
