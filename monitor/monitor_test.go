package monitor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestCheckMissedComparesTheRuleWithTheRuns plays a day of fires against
// run rows on a fake clock, in a real database, and checks which missed
// alerts are recorded.
func TestCheckMissedComparesTheRuleWithTheRuns(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		t0       time.Time // when the task was last changed, if not t0
		rule     string
		zone     string
		status   int
		syncErr  string
		catchup  time.Duration
		ranAt    []time.Duration // after t0
		checksAt []time.Duration // after t0, in order
		want     []string        // titles recorded
	}{
		{name: "one gap among runs", rule: "*/10 * * * * *", status: 1,
			ranAt: []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second}, checksAt: []time.Duration{45 * time.Second},
			want: []string{"missed the run due at 2026-11-25 10:00:30 UTC"}},
		{name: "a gap is reported once over several checks", rule: "*/10 * * * * *", status: 1,
			ranAt:    []time.Duration{10 * time.Second},
			checksAt: []time.Duration{25 * time.Second, 26 * time.Second, 45 * time.Second},
			want:     []string{"missed the run due at 2026-11-25 10:00:20 UTC", "missed 2 runs due from 2026-11-25 10:00:30 UTC to 2026-11-25 10:00:40 UTC"}},
		{name: "runs within the grace period are not missed yet", rule: "*/10 * * * * *", status: 1,
			ranAt: []time.Duration{10 * time.Second}, checksAt: []time.Duration{21 * time.Second}},
		{name: "a fire Temporal may still catch up is not missed yet", rule: "*/10 * * * * *", status: 1, catchup: 30 * time.Second,
			ranAt: []time.Duration{20 * time.Second}, checksAt: []time.Duration{25 * time.Second}},
		{name: "a fire is missed once the catch-up window is over", rule: "*/10 * * * * *", status: 1, catchup: 30 * time.Second,
			ranAt: []time.Duration{20 * time.Second}, checksAt: []time.Duration{25 * time.Second, 46 * time.Second},
			want: []string{"missed the run due at 2026-11-25 10:00:10 UTC"}},
		{name: "paused tasks miss nothing", rule: "*/10 * * * * *", status: 0, checksAt: []time.Duration{time.Minute}},
		{name: "killed-and-paused tasks miss nothing", rule: "*/10 * * * * *", status: 2, checksAt: []time.Duration{time.Minute}},
		{name: "a rule sync could not apply is not checked", rule: "*/10 * * * * *", status: 1, syncErr: "not synced",
			checksAt: []time.Duration{time.Minute}},
		{name: "five-field rules in a time zone", rule: "5 * * * *", zone: "Asia/Shanghai", status: 1,
			ranAt: []time.Duration{5 * time.Minute}, checksAt: []time.Duration{3 * time.Hour},
			want: []string{"missed 2 runs due from 2026-11-25 19:05:00 CST to 2026-11-25 20:05:00 CST"}},
		{name: "day of month or day of week, as in cron", rule: "0 0 26 * 5", status: 1,
			checksAt: []time.Duration{72 * time.Hour},
			// 2026-11-26 is a Thursday (the 26th), 2026-11-27 a Friday.
			want: []string{"missed 2 runs due from 2026-11-26 00:00:00 UTC to 2026-11-27 00:00:00 UTC"}},
		// New York skips 02:00-03:00 on 2027-03-14: the 02:30 run is due
		// once, at 03:00 EDT.
		{name: "a fixed-time rule is due once right after a spring-forward gap", rule: "30 2 * * *", zone: "America/New_York",
			status: 1, t0: time.Date(2027, 3, 13, 12, 0, 0, 0, time.UTC), checksAt: []time.Duration{48 * time.Hour},
			want: []string{"missed 2 runs due from 2027-03-14 03:00:00 EDT to 2027-03-15 02:30:00 EDT"}},
		// New York has 01:00-02:00 twice on 2027-11-07: the 01:30 run is
		// due at the first 01:30 (05:30 UTC) only.
		{name: "a fixed-time rule is due once on a fall-back day", rule: "30 1 * * *", zone: "America/New_York",
			status: 1, t0: time.Date(2027, 11, 6, 12, 0, 0, 0, time.UTC),
			ranAt: []time.Duration{17*time.Hour + 30*time.Minute, 42*time.Hour + 30*time.Minute}, checksAt: []time.Duration{48 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := t0
			if !tt.t0.IsZero() {
				t0 = tt.t0
			}
			env := testenv.New(t)
			ctx := context.Background()
			testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{
				Name: "t", Rule: tt.rule, TimeZone: tt.zone, Status: new(tasktype.Status(tt.status)),
			})
			exec(t, env.Store, `UPDATE t_task_list SET updated_at = $1`, t0)
			if tt.syncErr != "" {
				if err := env.Store.SetSyncState(ctx, store.SyncState{TaskName: "t", Error: tt.syncErr}); err != nil {
					t.Fatal(err)
				}
				exec(t, env.Store, `UPDATE t_task_sync SET synced_at = $1`, t0)
			}
			for i, d := range tt.ranAt {
				exec(t, env.Store, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id, scheduled_time)
					VALUES ('t', $1, $1, $1, $2)`, fmt.Sprint(i), t0.Add(d))
			}
			// No channel is configured: the alerts are recorded, not sent.
			var now time.Time
			m := clockedMonitor(t, env, Config{Grace: 2 * time.Second, CatchupWindow: tt.catchup, Lookback: 7 * 24 * time.Hour},
				[]string{}, false, &now)
			checkAt(t, &now, t0, tt.checksAt, m.CheckMissed)
			var got []string
			for _, row := range alertsOfKind(t, env, alert.KindMissed) {
				got = append(got, strings.TrimPrefix(row.Title, "still missing runs: "))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("missed alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func exec(t *testing.T, st *store.Store, q string, args ...any) {
	t.Helper()
	if _, err := st.Pool().Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// clockedMonitor is a Monitor over env with cfg, on the fake clock *now,
// raising through a raiser with channels; raiserClock puts the raiser
// (and so its repeat limit) on that clock too.
func clockedMonitor(t *testing.T, env *testenv.Env, cfg Config, channels []string, raiserClock bool, now *time.Time) *Monitor {
	t.Helper()
	raiser, err := alert.NewRaiser(alert.Config{TaskQueue: env.Config.TaskQueue,
		WorkflowIDPrefix: env.Config.ScheduleIDPrefix, Channels: channels}, env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	if raiserClock {
		raiser.Now = func() time.Time { return *now }
	}
	m, err := New(cfg, env.Store, raiser, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	m.Now = func() time.Time { return *now }
	return m
}

// checkAt runs check with the clock at t0 plus each of at, in order.
func checkAt(t *testing.T, now *time.Time, t0 time.Time, at []time.Duration, check func(context.Context) (int, error)) {
	t.Helper()
	for _, d := range at {
		*now = t0.Add(d)
		if _, err := check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// alertsOfKind returns task t's alert rows, oldest first, and fails the
// test for a row of another kind.
func alertsOfKind(t *testing.T, env *testenv.Env, kind alert.Kind) []store.AlertRow {
	t.Helper()
	rows, err := env.Store.ListAlerts(context.Background(), "t", 100)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(rows)
	for _, r := range rows {
		if r.Kind != string(kind) {
			t.Errorf("alert kind %s, want %s", r.Kind, kind)
		}
	}
	return rows
}
