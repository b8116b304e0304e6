package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schetask/schetask/janitor"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// JanitorResult is one janitor pass over many expired runs, and what it
// does to the run inserts workers make meanwhile: the same paced inserts
// timed first without the janitor, then during the pass, on the same
// table in the same run.
type JanitorResult struct {
	// Expired is how many expired runs were seeded (one in 100 failed,
	// with an alert row), SeedS how long that took.
	Expired int     `json:"expired_runs_seeded"`
	SeedS   float64 `json:"seed_s"`
	// BatchSize is the most rows one delete statement removed.
	BatchSize int `json:"batch_size"`
	// Deleted and AlertsDeleted are the rows the pass deleted, PassS how
	// long it took, DeletedPerSecond their rate.
	Deleted          int64   `json:"runs_deleted"`
	AlertsDeleted    int64   `json:"alerts_deleted"`
	PassS            float64 `json:"pass_s"`
	DeletedPerSecond float64 `json:"runs_deleted_per_second"`
	// Left is the seeded task's runs after the pass: the newest run with a
	// history folder, which retention never removes.
	Left int `json:"runs_left"`
	// OfferedPerSecond is the fixed rate of run inserts (a worker's start
	// hook, store.StartRun, for another task), open loop, in both phases.
	OfferedPerSecond int `json:"inserts_offered_per_second"`
	InsertErrors     int `json:"insert_errors"`
	// Before and After are each insert's time from its scheduled start
	// to its commit over a fixed window with no janitor, before the pass
	// and after it (each on a freshly vacuumed table); Without is the two
	// together, During the same over the pass. Before and After far apart
	// say the machine's own load moved.
	Before  Dist `json:"inserts_before_pass"`
	After   Dist `json:"inserts_after_pass"`
	Without Dist `json:"inserts_without_janitor"`
	During  Dist `json:"inserts_during_pass"`
	// TailRatio is During's tail over Without's (p99 from 100 samples).
	TailRatio float64 `json:"insert_tail_ratio"`
}

const (
	janitorExpiredTask = "bench-janitor-expired"
	janitorLiveTask    = "bench-janitor-live"
)

// janitorBench seeds n expired runs of one task, times run inserts for
// another task at rate a second for window, then during a janitor pass
// that deletes the expired runs, then for window again.
func janitorBench(ctx context.Context, st *store.Store, tasksDir string, n, rate int, window time.Duration) (*JanitorResult, error) {
	r := &JanitorResult{Expired: n, OfferedPerSecond: rate}
	fmt.Fprintf(os.Stderr, "janitor: seeding %d expired runs…\n", n)
	start := time.Now()
	if err := seedExpiredRuns(ctx, st, n); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	r.SeedS = time.Since(start).Seconds()
	j, err := janitor.New(janitor.Config{TasksDir: tasksDir}, st, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	r.BatchSize = j.BatchSize
	ins := runInserter{st: st, layout: tasktype.Layout{Root: tasksDir}, base: time.Now().Truncate(time.Second)}

	fmt.Fprintf(os.Stderr, "janitor: %d run inserts/s for %s without the janitor…\n", rate, window)
	before, errs, err := ins.paced(ctx, rate, after(window))
	if err != nil {
		return nil, err
	}
	r.InsertErrors = errs

	fmt.Fprintf(os.Stderr, "janitor: %d run inserts/s during a pass…\n", rate)
	passDone := make(chan struct{})
	var pass janitor.Stats
	var passErr error
	var passTook time.Duration
	go func() {
		defer close(passDone)
		start := time.Now()
		pass, passErr = j.Pass(ctx)
		passTook = time.Since(start)
	}()
	during, errs, err := ins.paced(ctx, rate, passDone)
	if err != nil {
		return nil, err
	}
	if passErr != nil {
		return nil, fmt.Errorf("pass: %w", passErr)
	}
	r.During, r.InsertErrors = summarize(during), r.InsertErrors+errs
	// As before the pass: a vacuumed table, not autovacuum cleaning up
	// after the pass while the window runs.
	if _, err := st.Pool().Exec(ctx, `VACUUM ANALYZE t_task_exec_list, t_task_alert`); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "janitor: %d run inserts/s for %s after the pass…\n", rate, window)
	afterPass, errs, err := ins.paced(ctx, rate, after(window))
	if err != nil {
		return nil, err
	}
	r.InsertErrors += errs
	r.Before, r.After, r.Without = summarize(before), summarize(afterPass), summarize(append(before, afterPass...))
	r.Deleted, r.AlertsDeleted, r.PassS = pass.Runs, pass.Alerts, passTook.Seconds()
	r.DeletedPerSecond = float64(pass.Runs) / passTook.Seconds()
	r.TailRatio = r.During.Tail() / r.Without.Tail()
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM t_task_exec_list WHERE task_name = $1`,
		janitorExpiredTask).Scan(&r.Left); err != nil {
		return nil, err
	}
	return r, nil
}

// seedExpiredRuns makes the two tasks, paused (kept 1 day, and with no
// retention), and n ended runs of the first, one a second from 30 days
// back, with the log and history paths a worker records (files that do
// not exist); one in 100 failed and has its alert row.
func seedExpiredRuns(ctx context.Context, st *store.Store, n int) error {
	if _, err := st.Pool().Exec(ctx, `
		INSERT INTO t_task_list (task_name, rule, task_status, keep_days)
		VALUES ($1, '0 0 0 1 1 *', 0, 1), ($2, '0 0 0 1 1 *', 0, NULL)`,
		janitorExpiredTask, janitorLiveTask); err != nil {
		return err
	}
	if _, err := st.Pool().Exec(ctx, `
		INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id, scheduled_time, start_time,
			process_start_time, end_time, exit_code, status, log_path, history_path)
		SELECT $1, to_char(t AT TIME ZONE 'UTC', 'YYYYMM/DD/HH24MISS'), $1 || '-wf-' || i, 'r', t, t, t,
			t + interval '2 seconds', CASE WHEN i % 100 = 0 THEN 1 ELSE 0 END,
			CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'succeeded' END,
			$1 || '/logs/' || to_char(t AT TIME ZONE 'UTC', 'YYYYMM/DD/HH24MISS') || '.log',
			CASE WHEN i % 100 = 0 THEN '' ELSE $1 || '/history/' || to_char(t AT TIME ZONE 'UTC', 'YYYYMM/DD_HH24MISS') END
		FROM generate_series(1, $2) AS i,
			LATERAL (SELECT date_trunc('second', now()) - interval '30 days' - i * interval '1 second' AS t) AS at`,
		janitorExpiredTask, n); err != nil {
		return err
	}
	if _, err := st.Pool().Exec(ctx, `
		INSERT INTO t_task_alert (dedupe_key, task_name, kind, exec_id, title, sent)
		SELECT 'bench-janitor-' || id, task_name, 'failed', id, 'failed', true
		FROM t_task_exec_list WHERE task_name = $1 AND status = 'failed'`, janitorExpiredTask); err != nil {
		return err
	}
	_, err := st.Pool().Exec(ctx, `VACUUM ANALYZE t_task_exec_list, t_task_alert`)
	return err
}

// after returns a channel closed once d has passed.
func after(d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	time.AfterFunc(d, func() { close(done) })
	return done
}

// runInserter starts runs of the live task as a worker's start hook does.
type runInserter struct {
	st     *store.Store
	layout tasktype.Layout
	base   time.Time
	mu     sync.Mutex
	next   int
}

// paced starts rate runs a second on a fixed schedule, each on its own
// goroutine whether or not earlier ones have committed, until done is
// closed, and returns each start's time from its scheduled moment to its
// commit and how many failed. Each run is ended right after, untimed.
func (in *runInserter) paced(ctx context.Context, rate int, done <-chan struct{}) ([]float64, int, error) {
	interval := time.Second / time.Duration(rate)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		lat    []float64
		failed int
	)
	start := time.Now()
loop:
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil, 0, ctx.Err()
		case <-done:
			break loop
		case <-time.After(time.Until(at)):
		}
		in.mu.Lock()
		k := in.next
		in.next++
		in.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			run, err := in.st.StartRun(ctx, store.StartRunParams{
				TaskName:   janitorLiveTask,
				WorkflowID: fmt.Sprintf("%s-%d", janitorLiveTask, k), RunID: "r",
				// One second apart: each run its own version, as scheduled runs are.
				ScheduledTime: in.base.Add(time.Duration(k) * time.Second), Location: time.UTC,
				LogPath: func(v string) (string, error) { return in.layout.LogPath(janitorLiveTask, v) },
			})
			took := ms(time.Since(at))
			if err == nil {
				// Ended at once, untimed: an open run would have sync's
				// reconciler ask Temporal about a workflow that does not exist.
				_, err = in.st.FinishRun(ctx, store.FinishRunParams{RunID: run.ID, Status: tasktype.RunSucceeded})
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			lat = append(lat, took)
		}()
	}
	wg.Wait()
	return lat, failed, nil
}

func (r *JanitorResult) print() {
	fmt.Printf("janitor: a pass over %d expired runs (batches of %d) deleted %d runs and %d alerts in %.1f s: %.0f runs/s; %d left\n",
		r.Expired, r.BatchSize, r.Deleted, r.AlertsDeleted, r.PassS, r.DeletedPerSecond, r.Left)
	fmt.Printf("  run inserts at %d/s, open loop, %d errors:\n    without the janitor %s (before the pass %s; after it %s)\n    during the pass     %s\n    tail ratio (p99 during / p99 without): %.2f\n",
		r.OfferedPerSecond, r.InsertErrors, r.Without, r.Before, r.After, r.During, r.TailRatio)
}
