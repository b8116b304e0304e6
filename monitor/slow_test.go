package monitor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/testenv"
)

// TestCheckSlowComparesRunningRunsWithTheirTasksUsualRuns plays checks on
// a fake clock against run rows in a real database: a running run is
// announced slow once, past max(3 × p95, p95 + margin) of its task's newest
// succeeded runs, only when there are at least five, and the slow alerts
// of one task obey the repeat limit.
func TestCheckSlowComparesRunningRunsWithTheirTasksUsualRuns(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	type sent struct {
		title string
		sent  bool
	}
	tests := []struct {
		name      string
		succeeded int             // 1 s runs before t0
		margin    *int            // slow_margin_seconds
		noLearn   bool            // learn_normal off
		running   int             // runs started at t0, still going
		checksAt  []time.Duration // after t0, in order
		want      []sent
	}{
		{name: "slow once past p95 + margin, raised once", succeeded: 5, margin: new(5), running: 1,
			checksAt: []time.Duration{5 * time.Second, 7 * time.Second, 20 * time.Second},
			want:     []sent{{"still running after 7.0 s; usually 1.0 s – 1.0 s", true}}},
		{name: "not slow within the threshold", succeeded: 5, margin: new(5), running: 1,
			checksAt: []time.Duration{6 * time.Second}},
		{name: "the margin is a minute by default", succeeded: 5, running: 1,
			checksAt: []time.Duration{59 * time.Second, 62 * time.Second},
			want:     []sent{{"still running after 1 m 02 s; usually 1.0 s – 1.0 s", true}}},
		{name: "fewer than five succeeded runs teach nothing", succeeded: 4, margin: new(1), running: 1,
			checksAt: []time.Duration{time.Hour}},
		{name: "learn_normal off", succeeded: 10, margin: new(1), noLearn: true, running: 1,
			checksAt: []time.Duration{time.Hour}},
		{name: "the repeat limit holds the second slow run back", succeeded: 5, margin: new(5), running: 2,
			checksAt: []time.Duration{10 * time.Second},
			want: []sent{{"still running after 10 s; usually 1.0 s – 1.0 s", true},
				{"still running after 10 s; usually 1.0 s – 1.0 s", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testenv.New(t)
			ctx := context.Background()
			opts := &testenv.TaskOpts{Name: "t", SlowMarginSeconds: tt.margin}
			if tt.noLearn {
				opts.LearnNormal = new(false)
			}
			testenv.Task(ctx, t, env.Store.Pool(), opts)
			for i := range tt.succeeded {
				start := t0.Add(-time.Duration(i+1) * time.Hour)
				exec(t, env.Store, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
						scheduled_time, start_time, process_start_time, end_time, status)
					VALUES ('t', $1, $1, $1, $2, $2, $2, $3, 'succeeded')`, fmt.Sprint("ok", i), start, start.Add(time.Second))
			}
			for i := range tt.running {
				exec(t, env.Store, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
						scheduled_time, start_time, process_start_time, status)
					VALUES ('t', $1, $1, $1, $2, $2, $2, 'running')`, fmt.Sprint("run", i), t0)
			}
			// A channel is configured and none runs: sent alerts wait in Temporal.
			var now time.Time
			m := clockedMonitor(t, env, Config{}, []string{"webhook"}, true, &now)
			checkAt(t, &now, t0, tt.checksAt, m.CheckSlow)
			var got []sent
			for _, row := range alertsOfKind(t, env, alert.KindSlow) {
				_, title, _ := strings.Cut(row.Title, " ")
				_, title, _ = strings.Cut(title, " ") // "run #N "
				got = append(got, sent{title, row.Sent})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("slow alerts:\n%v\nwant:\n%v", got, tt.want)
			}
		})
	}
}
