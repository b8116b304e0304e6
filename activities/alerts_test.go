package activities

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestRaiseOutcomeComparesASucceededRunWithTheUsualOnes: the end hook's
// alerts include fast and did nothing for a run unlike the task's usual
// runs (those before it, not itself), in a real database through a real
// raiser, unless the task does not learn.
func TestRaiseOutcomeComparesASucceededRunWithTheUsualOnes(t *testing.T) {
	tests := []struct {
		name  string
		learn bool
		want  []string
	}{
		{name: "learning", learn: true, want: []string{string(alert.KindDidNothing), string(alert.KindFast)}},
		{name: "learn_normal off", learn: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testenv.New(t)
			ctx := context.Background()
			testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "gold", LearnNormal: new(tt.learn)})
			t0 := time.Now().Add(-24 * time.Hour)
			insert := func(key string, took time.Duration, files []string) int64 {
				var id int64
				if err := env.Store.Pool().QueryRow(ctx, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id,
						run_id, scheduled_time, start_time, process_start_time, end_time, status, exit_code, published_files)
					VALUES ('gold', $1, $1, $1, $2, $2, $2, $3, 'succeeded', 0, $4) RETURNING id`,
					key, t0, t0.Add(took), files).Scan(&id); err != nil {
					t.Fatal(err)
				}
				return id
			}
			// Three of five publish: most of them, but not with the odd run.
			for i := range 5 {
				files := []string{}
				if i < 3 {
					files = []string{"report.csv"}
				}
				insert(fmt.Sprint("usual", i), 10*time.Second, files)
			}
			id := insert("odd", 100*time.Millisecond, []string{})
			run, err := env.Store.GetRun(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			raiser, err := alert.NewRaiser(alert.Config{TaskQueue: env.Config.TaskQueue,
				WorkflowIDPrefix: env.Config.ScheduleIDPrefix, Channels: []string{}}, env.Store, env.Temporal, env.Logger)
			if err != nil {
				t.Fatal(err)
			}
			a := &Activities{Store: env.Store, Alerts: raiser, Logger: env.Logger}
			if err := a.raiseOutcome(ctx, run); err != nil {
				t.Fatal(err)
			}
			rows, err := env.Store.ListAlerts(ctx, "gold", 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				if r.ExecID == nil || *r.ExecID != id {
					t.Errorf("alert %q is not about run %d", r.Title, id)
				}
				got = append(got, r.Kind)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("alert kinds %q, want %q", got, tt.want)
			}
		})
	}
}
