package tasksync_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/rule"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/tasktype"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func setup(t *testing.T) (*tasksync.Syncer, *testenv.Env) {
	t.Helper()
	env := testenv.New(t)
	s, err := tasksync.New(serviceconfig.Sync(env.Config), env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Leave no schedules behind on the shared server.
		tasks, _ := env.Store.ListTasks(context.Background())
		for _, task := range tasks {
			_ = env.Temporal.ScheduleClient().GetHandle(context.Background(), env.Config.ScheduleIDPrefix+task.Name).Delete(context.Background())
		}
	})
	return s, env
}

func task(name, r, zone string) tasktype.Task {
	return tasktype.Task{Name: name, Rule: r, TimeZone: zone, TimeoutAction: tasktype.TimeoutKill,
		Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}
}

// Temporal itself computes the next fires of each translated rule; they
// must be the rule's own next fires, in every zone, and with the crontab
// day-of-month OR day-of-week rule.
func TestTemporalFiresWhenTheRuleSays(t *testing.T) {
	t.Parallel()
	s, env := setup(t)
	ctx := context.Background()
	rules := []string{"*/7 * * * * *", "0 0 1 * 1", "15 10 1,15 * 5", "0 9 * * MON-FRI", "0 */5 * * *",
		"30 2 * * *", "0 12 * JAN,JUL SUN", "59 59 23 31 12 *", "0 0 12 1-7 * 1", "1-10/3 4 5 6 0"}
	zones := []string{"UTC", "America/New_York", "Asia/Shanghai", "Europe/Berlin"}
	i := 0
	for _, r := range rules {
		for _, zone := range zones {
			i++
			name := "r" + string(rune('a'+i/26)) + string(rune('a'+i%26))
			if err := env.Store.UpsertTask(ctx, task(name, r, zone)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ReconcileTask(ctx, name); err != nil {
				t.Fatalf("%q in %s: %v", r, zone, err)
			}
			d, err := env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+name).Describe(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Info.NextActionTimes) < 3 {
				t.Fatalf("%q in %s: Temporal lists %d next fires", r, zone, len(d.Info.NextActionTimes))
			}
			parsed, _ := rule.Parse(r)
			loc, _ := time.LoadLocation(zone)
			want := parsed.Next(d.Info.NextActionTimes[0].Add(-time.Second), loc)
			for k, got := range d.Info.NextActionTimes {
				if !got.Equal(want) {
					t.Errorf("%q in %s: Temporal's fire %d is %s, the rule's is %s", r, zone, k, got, want.UTC())
					break
				}
				want = parsed.Next(want, loc)
			}
		}
	}
}

func TestInvalidRuleIsReportedAndKeepsTheLastGoodSchedule(t *testing.T) {
	t.Parallel()
	s, env := setup(t)
	ctx := context.Background()
	if err := env.Store.UpsertTask(ctx, task("gold", "*/10 * * * * *", "UTC")); err != nil {
		t.Fatal(err)
	}
	if st, err := s.ReconcileTask(ctx, "gold"); err != nil || st.Created != 1 {
		t.Fatalf("create: %+v %v", st, err)
	}
	h := env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+"gold")
	before, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ rule, zone, want string }{
		{"*/10 * * * * * *", "UTC", "want 5 fields"},
		{"0 9 * * FUNDAY", "UTC", "day of week"},
		{"0 9 * * *", "Mars/Olympus", "time zone"},
		// Rules whose day of month and month never meet on a date.
		{"0 0 30 2 *", "UTC", `invalid rule "0 0 30 2 *": never fires: February has no day 30`},
		{"0 0 31 4 *", "UTC", "never fires: April has no day 31"},
		{"0 0 0 31 4 *", "Asia/Shanghai", "never fires: April has no day 31"},
		// The host's zone, in rows from before migration 008 refused it.
		{"0 9 * * *", "Local", `time zone "Local": use an IANA name`},
		{"0 9 * * *", "", `time zone "": use an IANA name`},
	} {
		if bad.zone == "Local" {
			if _, err := env.Store.Pool().Exec(ctx, `ALTER TABLE t_task_list DISABLE TRIGGER t_task_list_time_zone_iana`); err != nil {
				t.Fatal(err)
			}
		}
		if err := env.Store.UpsertTask(ctx, task("gold", bad.rule, bad.zone)); err != nil {
			t.Fatal(err)
		}
		st, err := s.ReconcileTask(ctx, "gold")
		if err != nil || st.Invalid != 1 || st.Writes() != 0 {
			t.Fatalf("%q in %q: %+v %v, want invalid and no writes", bad.rule, bad.zone, st, err)
		}
		state, ok, err := env.Store.GetSyncState(ctx, "gold")
		if err != nil || !ok || !strings.Contains(state.Error, bad.want) || !strings.Contains(state.Error, "keeps its last good settings") {
			t.Errorf("%q in %q: sync state %q %v, want it to say %q", bad.rule, bad.zone, state.Error, err, bad.want)
		}
	}
	after, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Info.LastUpdateAt.Equal(before.Info.LastUpdateAt) {
		t.Error("an invalid rule changed the schedule")
	}
	// Fixing the rule clears the error; February 29 comes every four years,
	// so that rule is valid.
	if err := env.Store.UpsertTask(ctx, task("gold", "0 0 29 2 *", "UTC")); err != nil {
		t.Fatal(err)
	}
	if st, err := s.ReconcileTask(ctx, "gold"); err != nil || st.Updated != 1 {
		t.Fatalf("fix: %+v %v", st, err)
	}
	if state, _, _ := env.Store.GetSyncState(ctx, "gold"); state.Error != "" {
		t.Errorf("error not cleared: %q", state.Error)
	}
}

func TestDeletedTaskRemovesItsScheduleAndCallsTheHookOnce(t *testing.T) {
	t.Parallel()
	s, env := setup(t)
	ctx := context.Background()
	var deleted []string
	s.OnTaskDeleted = func(_ context.Context, name string) error { deleted = append(deleted, name); return nil }
	if err := env.Store.UpsertTask(ctx, task("gone", "0 0 1 1 *", "UTC")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReconcileTask(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.DeleteTask(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.ReconcileTask(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+"gone").Describe(ctx)
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("schedule of a deleted task: %v", err)
	}
	if len(deleted) != 1 || deleted[0] != "gone" {
		t.Errorf("deletion hook calls: %q, want [gone]", deleted)
	}
}

func TestReconcileAllRemovesSchedulesWhoseRowsVanishedWhileSyncWasDown(t *testing.T) {
	t.Parallel()
	s, env := setup(t)
	ctx := context.Background()
	for _, n := range []string{"keep", "drop"} {
		if err := env.Store.UpsertTask(ctx, task(n, "0 0 1 1 *", "UTC")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ReconcileAll(ctx); err != nil {
		t.Fatal(err)
	}
	// Deleted with nobody listening: only the full reconcile can notice.
	if err := env.Store.DeleteTask(ctx, "drop"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() string {
		st, err := s.ReconcileAll(ctx)
		if err != nil {
			return err.Error()
		}
		if st.Deleted != 1 {
			return "schedule of drop not deleted yet (listing is eventually consistent)"
		}
		return ""
	})
	if _, err := env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+"keep").Describe(ctx); err != nil {
		t.Errorf("schedule of keep: %v", err)
	}
}

// TestTheCatchUpWindowHoldsAtMostTheLatestMissedFire: a schedule's
// catch-up window is the configured one (a minute here) cut to the
// shortest gap between the rule's fires, not under Temporal's 10 s, so
// that after an outage Temporal's one catch-up run is the latest missed
// fire, not an older one.
func TestTheCatchUpWindowHoldsAtMostTheLatestMissedFire(t *testing.T) {
	t.Parallel()
	_, env := setup(t)
	ctx := context.Background()
	cfg := serviceconfig.Sync(env.Config)
	cfg.CatchupWindow = time.Minute
	s, err := tasksync.New(cfg, env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range []struct {
		rule string
		want time.Duration
	}{
		{"*/2 * * * * *", tasksync.MinCatchupWindow},
		{"*/15 * * * * *", 15 * time.Second},
		{"0,40 * * * * *", 20 * time.Second},
		{"* * * * *", time.Minute},
		{"30 2 * * *", time.Minute},
	} {
		name := fmt.Sprintf("catchup%d", i)
		if err := env.Store.UpsertTask(ctx, task(name, tt.rule, "UTC")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReconcileTask(ctx, name); err != nil {
			t.Fatal(err)
		}
		d, err := env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+name).Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Schedule.Policy.CatchupWindow; got != tt.want {
			t.Errorf("%q: catch-up window %s, want %s", tt.rule, got, tt.want)
		}
	}
}
