package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// retentionRun is one run row a retention test starts from.
type retentionRun struct {
	// age is how long ago the run started.
	age    time.Duration
	status tasktype.RunStatus
	// history gives the run a history folder.
	history bool
}

// insertRetentionRuns writes the task's runs, each with an alert, and
// returns their ids in the order given.
func insertRetentionRuns(ctx context.Context, t *testing.T, env *testenv.Env, task string, runs []retentionRun) []int64 {
	t.Helper()
	layout := tasktype.Layout{Root: env.Config.TasksDir}
	now := time.Now().UTC().Truncate(time.Second)
	ids := make([]int64, len(runs))
	for i, r := range runs {
		start := now.Add(-r.age)
		version := tasktype.Version(start, time.UTC, 1)
		logPath, _ := layout.LogPath(task, version)
		historyPath := ""
		if r.history {
			historyPath, _ = layout.HistoryPath(task, version)
		}
		var end *time.Time
		if r.status != tasktype.RunRunning {
			e := start.Add(time.Second)
			end = &e
		}
		if err := env.Store.Pool().QueryRow(ctx, `INSERT INTO t_task_exec_list (task_name, task_version,
			workflow_id, run_id, scheduled_time, start_time, end_time, status, log_path, history_path)
			VALUES ($1, $2, $3, 'r', $4, $4, $5, $6, $7, $8) RETURNING id`,
			task, version, fmt.Sprintf("wf-%s-%d", task, i), start, end, r.status, logPath, historyPath).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
		id := ids[i]
		if _, _, err := env.Store.RecordAlert(ctx, fmt.Sprintf("failed:%d", id), task, "failure",
			func(st store.AlertState) (store.AlertState, *store.NewAlert) {
				return st, &store.NewAlert{Kind: "failed", ExecID: &id, Title: "run failed"}
			}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func TestDeleteExpiredRunsKeepsWhatRetentionSays(t *testing.T) {
	t.Parallel()
	const (
		ok   = tasktype.RunSucceeded
		fail = tasktype.RunFailed
		run  = tasktype.RunRunning
	)
	for _, tt := range []struct {
		desc     string
		runs     []retentionRun
		keepRuns int
		// keepFor lets runs older than this go; 0 lets none go by age.
		keepFor time.Duration
		// kept are the indexes into runs that must stay.
		kept []int
	}{
		{
			desc:     "keep_runs keeps the newest",
			runs:     []retentionRun{{age: 6 * time.Minute, status: fail}, {age: 5 * time.Minute, status: fail}, {age: 4 * time.Minute, status: fail}, {age: 3 * time.Minute, status: fail}, {age: 2 * time.Minute, status: fail}},
			keepRuns: 2,
			kept:     []int{3, 4},
		},
		{
			desc:    "keep_days lets older runs go",
			runs:    []retentionRun{{age: 3 * time.Hour, status: fail}, {age: 2 * time.Hour, status: fail}, {age: time.Minute, status: fail}},
			keepFor: 90 * time.Minute,
			kept:    []int{2},
		},
		{
			desc:     "the stricter wins: age when it keeps fewer",
			runs:     []retentionRun{{age: 3 * time.Hour, status: fail}, {age: 2 * time.Hour, status: fail}, {age: time.Minute, status: fail}},
			keepRuns: 10,
			keepFor:  90 * time.Minute,
			kept:     []int{2},
		},
		{
			desc:     "the stricter wins: count when it keeps fewer",
			runs:     []retentionRun{{age: 3 * time.Minute, status: fail}, {age: 2 * time.Minute, status: fail}, {age: time.Minute, status: fail}},
			keepRuns: 1,
			keepFor:  time.Hour,
			kept:     []int{2},
		},
		{
			desc:     "a running run stays, and counts among the kept",
			runs:     []retentionRun{{age: 5 * time.Hour, status: run}, {age: 2 * time.Minute, status: fail}, {age: time.Minute, status: run}},
			keepRuns: 1,
			keepFor:  time.Hour,
			kept:     []int{0, 2},
		},
		{
			desc:     "the newest successful history stays, older ones go",
			runs:     []retentionRun{{age: 5 * time.Hour, status: ok, history: true}, {age: 4 * time.Hour, status: ok, history: true}, {age: 3 * time.Hour, status: ok}, {age: 2 * time.Minute, status: fail, history: true}, {age: time.Minute, status: fail}},
			keepRuns: 1,
			keepFor:  time.Hour,
			kept:     []int{1, 4},
		},
		{
			desc: "no limit keeps everything",
			runs: []retentionRun{{age: 500 * time.Hour, status: fail}, {age: time.Minute, status: fail}},
			kept: []int{0, 1},
		},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			env := testenv.New(t)
			ctx := context.Background()
			ids := insertRetentionRuns(ctx, t, env, "gold", tt.runs)
			other := insertRetentionRuns(ctx, t, env, "silver", []retentionRun{{age: 500 * time.Hour, status: fail}})
			p := store.ExpireRunsParams{TaskName: "gold", KeepRuns: tt.keepRuns, Limit: 2}
			if tt.keepFor != 0 {
				p.Before = time.Now().Add(-tt.keepFor)
			}
			var deleted []int64
			var alerts int64
			for range len(tt.runs) + 1 {
				runs, n, err := env.Store.DeleteExpiredRuns(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(runs) > p.Limit {
					t.Fatalf("one call deleted %d runs, limit %d", len(runs), p.Limit)
				}
				for _, r := range runs {
					deleted = append(deleted, r.ID)
					if r.TaskName != "gold" || r.LogPath == "" {
						t.Errorf("deleted run %+v: want gold's, with its log path", r)
					}
				}
				alerts += n
			}
			var want []int64
			for i, id := range ids {
				if !slices.Contains(tt.kept, i) {
					want = append(want, id)
				}
			}
			slices.Sort(deleted)
			if !slices.Equal(deleted, want) {
				t.Errorf("deleted runs %v, want %v (of %v)", deleted, want, ids)
			}
			if alerts != int64(len(want)) {
				t.Errorf("deleted %d alerts, want %d, one per deleted run", alerts, len(want))
			}
			var left []int64
			rows, err := env.Store.Pool().Query(ctx, `SELECT id FROM t_task_exec_list ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				_ = rows.Scan(&id)
				left = append(left, id)
			}
			if rows.Err() != nil {
				t.Fatal(rows.Err())
			}
			for _, id := range append(other, ids...) {
				if slices.Contains(left, id) == slices.Contains(want, id) {
					t.Errorf("run %d: left %v, deleted %v", id, slices.Contains(left, id), slices.Contains(want, id))
				}
			}
			var alertRuns []int64
			if err := env.Store.Pool().QueryRow(ctx, `SELECT coalesce(array_agg(exec_id ORDER BY exec_id), '{}') FROM t_task_alert`).Scan(&alertRuns); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(alertRuns, left) {
				t.Errorf("alerts of runs %v, want those of the runs left %v", alertRuns, left)
			}
		})
	}
}

func TestRetentionTasksListsTasksWithRunsAndTheirSettings(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	five := 5
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "gold", KeepRuns: &five})
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "idle"})
	insertRetentionRuns(ctx, t, env, "gold", []retentionRun{{age: time.Minute, status: tasktype.RunFailed}, {age: 2 * time.Minute, status: tasktype.RunFailed}})
	insertRetentionRuns(ctx, t, env, "deleted", []retentionRun{{age: time.Minute, status: tasktype.RunFailed}})
	tasks, err := env.Store.RetentionTasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(len(tasks))
	for _, rt := range tasks {
		got += fmt.Sprintf(" %s:%v:%v", rt.Name, deref(rt.KeepRuns), deref(rt.KeepDays))
	}
	if want := "2 deleted:-:- gold:5:-"; got != want {
		t.Errorf("retention tasks = %q, want %q", got, want)
	}
}

func deref(n *int) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprint(*n)
}

func TestAuditAndSessionsExpire(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	if _, err := env.Store.Pool().Exec(ctx, `INSERT INTO t_audit (at, username, action) VALUES
		(now() - interval '400 days', 'ann', 'old'), (now() - interval '1 day', 'ann', 'new');
		INSERT INTO t_web_session (key, data, expires_at) VALUES
		('gone', '', now() - interval '1 minute'), ('live', '', now() + interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	if n, err := env.Store.DeleteAuditBefore(ctx, time.Now().Add(-365*24*time.Hour), 10); err != nil || n != 1 {
		t.Errorf("DeleteAuditBefore = %d, %v; want 1", n, err)
	}
	if n, err := env.Store.DeleteExpiredSessionBatch(ctx, 10); err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessionBatch = %d, %v; want 1", n, err)
	}
	var audit, sessions string
	if err := env.Store.Pool().QueryRow(ctx, `SELECT (SELECT string_agg(action, ',') FROM t_audit),
		(SELECT string_agg(key, ',') FROM t_web_session)`).Scan(&audit, &sessions); err != nil {
		t.Fatal(err)
	}
	if audit != "new" || sessions != "live" {
		t.Errorf("left audit %q, sessions %q; want new, live", audit, sessions)
	}
}
