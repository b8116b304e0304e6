package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
)

// normalRun is one run row a RunNormal test starts from.
type normalRun struct {
	status string
	// took is end_time - process_start_time; negative leaves the process
	// start unset (the run never got its process).
	took time.Duration
	// published leaves a file in publish/; logBytes is log_bytes.
	published bool
	logBytes  int64
}

// insertNormalRuns writes the task's runs, oldest first, and returns
// their ids.
func insertNormalRuns(ctx context.Context, t *testing.T, env *testenv.Env, task string, runs []normalRun) []int64 {
	t.Helper()
	var ids []int64
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i, r := range runs {
		start := t0.Add(time.Duration(i) * time.Hour)
		var proc *time.Time
		if r.took >= 0 {
			proc = &start
		}
		end := start.Add(max(r.took, 0))
		var files []string
		if r.published {
			files = []string{"report.csv"}
		}
		var id int64
		if err := env.Store.Pool().QueryRow(ctx, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
				scheduled_time, start_time, process_start_time, end_time, status, published_files, log_bytes)
			VALUES ($1, $2, $1 || $2, $1 || $2, $3, $3, $4, $5, $6, coalesce($7, '{}'::text[]), $8) RETURNING id`,
			task, start.Format("20060102150405"), start, proc, end, r.status, files, r.logBytes).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func repeatRun(r normalRun, n int) []normalRun {
	out := make([]normalRun, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// TestRunNormalLearnsFromTheNewestSucceededRuns: the figures come from the
// task's newest NormalWindow succeeded runs with a process, and nothing else.
func TestRunNormalLearnsFromTheNewestSucceededRuns(t *testing.T) {
	t.Parallel()
	ok := func(d time.Duration) normalRun { return normalRun{status: "succeeded", took: d} }
	tests := []struct {
		name string
		runs []normalRun
		// before is the index of the run RunNormal is asked about (0: none).
		before int
		want   store.RunNormal
	}{
		{name: "no runs", want: store.RunNormal{}},
		{name: "percentiles interpolate",
			// 1 s … 21 s: p5 = 2 s, median 11 s, p95 = 20 s.
			runs: func() []normalRun {
				var rs []normalRun
				for i := 1; i <= 21; i++ {
					rs = append(rs, ok(time.Duration(i)*time.Second))
				}
				return rs
			}(),
			want: store.RunNormal{Runs: 21, P5: 2 * time.Second, Median: 11 * time.Second, P95: 20 * time.Second}},
		{name: "failed, running and process-less runs do not count",
			runs: append(repeatRun(ok(time.Second), 3),
				normalRun{status: "failed", took: time.Hour}, normalRun{status: "timed_out", took: time.Hour},
				normalRun{status: "running", took: time.Hour}, normalRun{status: "succeeded", took: -1}),
			want: store.RunNormal{Runs: 3, P5: time.Second, Median: time.Second, P95: time.Second}},
		{name: "only the newest thirty",
			runs: append(repeatRun(ok(time.Hour), 10), repeatRun(ok(2*time.Second), 30)...),
			want: store.RunNormal{Runs: 30, P5: 2 * time.Second, Median: 2 * time.Second, P95: 2 * time.Second}},
		{name: "publishing and log sizes",
			runs: []normalRun{{status: "succeeded", took: time.Second, published: true, logBytes: 100},
				{status: "succeeded", took: time.Second, published: true, logBytes: 300},
				{status: "succeeded", took: time.Second, logBytes: 1000}},
			want: store.RunNormal{Runs: 3, P5: time.Second, Median: time.Second, P95: time.Second, Published: 2, MedianLogBytes: 300}},
		{name: "only the runs before the one asked about",
			runs:   append(repeatRun(ok(time.Second), 5), ok(time.Hour), ok(time.Hour)),
			before: 5,
			want:   store.RunNormal{Runs: 5, P5: time.Second, Median: time.Second, P95: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := testenv.New(t)
			ctx := context.Background()
			task := testenv.Task(ctx, t, env.Store.Pool(), nil)
			other := testenv.Task(ctx, t, env.Store.Pool(), nil)
			ids := insertNormalRuns(ctx, t, env, task, tt.runs)
			insertNormalRuns(ctx, t, env, other, repeatRun(ok(time.Minute), 10))
			var before int64
			if tt.before > 0 {
				before = ids[tt.before]
			}
			got, err := env.Store.RunNormal(ctx, task, before)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("RunNormal = %+v, want %+v", got, tt.want)
			}
		})
	}
}
