package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/config"
	schedrule "github.com/schetask/schetask/rule"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// LatenessResult is fire lateness over many tasks firing together.
type LatenessResult struct {
	Scenario string `json:"scenario"`
	Tasks    int    `json:"tasks"`
	Rule     string `json:"rule"`
	Runs     int    `json:"runs"`
	Missed   int    `json:"missed_fires"`
	Doubled  int    `json:"doubled_fires"`
	Failed   int    `json:"failed_runs"`
	// Lateness is nominal fire → task process started; FireToRow and
	// RowToProcess split it at the run's row, written by the start hook.
	// FireToWorkflow (bursts only) is when Temporal started the run's
	// workflow, the figure raw Temporal's is comparable with.
	Lateness       Dist  `json:"fire_lateness"`
	FireToWorkflow *Dist `json:"fire_to_workflow,omitempty"`
	FireToRow      Dist  `json:"fire_to_run_row"`
	RowToProcess   Dist  `json:"run_row_to_process"`
	// RawTemporal is the same number of raw schedules due at one second
	// on the same server just before (nominal → workflow started, no
	// worker), and TailRatioToRaw schetask's lateness tail over it.
	RawTemporal    *Dist   `json:"raw_temporal_fire_lateness,omitempty"`
	TailRatioToRaw float64 `json:"tail_ratio_to_raw,omitempty"`
	// Over a fixed window: the runs due (or started) in it, those that
	// ended within it, what was left at its end, and completed per second.
	WindowS       float64 `json:"window_s,omitempty"`
	Offered       int     `json:"offered,omitempty"`
	Completed     int     `json:"completed_in_window,omitempty"`
	Backlog       int     `json:"backlog_at_window_end,omitempty"`
	RunsPerSecond float64 `json:"completed_per_second,omitempty"`
}

// print shows the result for people.
func (r LatenessResult) print() {
	fmt.Printf("%s: %d tasks on %q: %d runs, %d missed, %d doubled, %d failed\n", r.Scenario, r.Tasks, r.Rule, r.Runs, r.Missed, r.Doubled, r.Failed)
	if r.RawTemporal != nil {
		fmt.Printf("  raw Temporal fire → workflow started  %s\n", *r.RawTemporal)
	}
	fmt.Printf("  fire → process started                %s\n", r.Lateness)
	if r.FireToWorkflow != nil {
		fmt.Printf("    fire → workflow started             %s\n", *r.FireToWorkflow)
	}
	fmt.Printf("    fire → run row                      %s\n", r.FireToRow)
	fmt.Printf("    run row → process                   %s\n", r.RowToProcess)
	if r.RawTemporal != nil {
		fmt.Printf("  tail against raw Temporal             %.2f×\n", r.TailRatioToRaw)
	}
	if r.WindowS > 0 {
		fmt.Printf("  in a %.0f s window: %d due, %d completed (%.1f runs/s), %d left at its end\n",
			r.WindowS, r.Offered, r.Completed, r.RunsPerSecond, r.Backlog)
	}
}

// SyncResult is how fast sync brings Temporal in line with the table.
type SyncResult struct {
	Tasks               int     `json:"tasks"`
	CreateConvergedS    float64 `json:"create_converged_s"`
	ResyncUnchangedS    float64 `json:"resync_unchanged_s"`
	ResyncUnchangedWrit int     `json:"resync_unchanged_writes"`
	EditConvergedS      float64 `json:"edit_converged_s"`
	DeleteConvergedS    float64 `json:"delete_converged_s"`
}

// trivialShellTask is the task of the many-task scenarios: a node process
// alone costs ~130 ms of CPU here, which would measure node, not schetask.
const trivialShellTask = "echo bench $SCHETASK_TASK_VERSION\n"

// deployTasks writes n copies of the trivial shell task and returns their names.
func (b bench) deployTasks(prefix string, n int) ([]string, error) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%03d", prefix, i)
		dir := filepath.Join(filepath.Dir(b.taskDir), names[i])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "index.sh"), []byte(trivialShellTask), 0o755); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// insertTasks adds the tasks with one rule in one statement, as a person
// with psql would.
func (b bench) insertTasks(ctx context.Context, names []string, rule string, status tasktype.Status) error {
	_, err := b.store.Pool().Exec(ctx, `INSERT INTO t_task_list (task_name, rule, task_status, overlap_policy)
		SELECT n, $2, $3, 'allow_all' FROM unnest($1::text[]) n`, names, rule, status)
	return err
}

func (b bench) deleteTasks(ctx context.Context, names []string) error {
	_, err := b.store.Pool().Exec(ctx, `DELETE FROM t_task_list WHERE task_name = ANY($1)`, names)
	return err
}

// waitSynced waits until sync has handled every named task since its last
// change (t_task_sync.synced_at after updated_at, no error), or, with
// gone, until no sync state of them is left.
func (b bench) waitSynced(ctx context.Context, names []string, gone bool, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < timeout {
		var n int
		q := `SELECT count(*) FROM t_task_list t JOIN t_task_sync s USING (task_name)
			WHERE t.task_name = ANY($1) AND s.synced_at >= t.updated_at AND s.error = '' AND s.spec_hash <> ''`
		if gone {
			q = `SELECT count(*) FROM t_task_sync WHERE task_name = ANY($1)`
		}
		if err := b.store.Pool().QueryRow(ctx, q, names).Scan(&n); err != nil {
			return 0, err
		}
		if (!gone && n == len(names)) || (gone && n == 0) {
			return time.Since(start), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, fmt.Errorf("sync did not converge within %s", timeout)
}

// lateness runs tasks on rule for duration (or until each has fired
// once, with once) and summarises the fires against the rule.
func (b bench) lateness(ctx context.Context, scenario string, tasks int, rule string, duration time.Duration) (LatenessResult, error) {
	res := LatenessResult{Scenario: scenario, Tasks: tasks, Rule: rule}
	names, err := b.deployTasks(scenario, tasks)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "%s: %d trivial shell tasks on %q for %s…\n", scenario, tasks, rule, duration)
	if err := b.insertTasks(ctx, names, rule, tasktype.StatusOn); err != nil {
		return res, err
	}
	defer func() { _ = b.deleteTasks(context.WithoutCancel(ctx), names) }()
	if _, err := b.waitSynced(ctx, names, false, 2*time.Minute); err != nil {
		return res, err
	}
	parsed, err := schedrule.Parse(rule)
	if err != nil {
		return res, err
	}
	// Fires are counted from a second after every schedule exists; a zero
	// duration waits for the rule's next fire and ten seconds more.
	from := time.Now().Add(time.Second).Truncate(time.Second)
	sustained := duration > 0
	if !sustained {
		duration = parsed.Next(from, time.UTC).Sub(from) + 10*time.Second
	}
	time.Sleep(time.Until(from.Add(duration)))
	to := time.Now()
	// A paused schedule drops the fires it has not started yet: before
	// pausing, give a scheduler that fell behind a minute to start them.
	var expected []time.Time
	for at := parsed.Next(from.Add(-time.Nanosecond), time.UTC); !at.After(to.Add(-time.Second)); at = parsed.Next(at, time.UTC) {
		expected = append(expected, at)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		var started int
		if err := b.store.Pool().QueryRow(ctx, `SELECT count(*) FROM t_task_exec_list WHERE task_name = ANY($1)
			AND scheduled_time >= $2 AND scheduled_time <= $3`, names, from, to.Add(-time.Second)).Scan(&started); err != nil {
			return res, err
		}
		if started >= tasks*len(expected) {
			break
		}
	}
	if _, err := b.store.Pool().Exec(ctx, `UPDATE t_task_list SET task_status = 0 WHERE task_name = ANY($1)`, names); err != nil {
		return res, err
	}
	runs, err := b.settledRuns(ctx, names, from)
	if err != nil {
		return res, err
	}
	var late, row, spawn, wf []float64
	seen := map[string]bool{}
	window := to.Add(-time.Second)
	for _, r := range runs {
		if r.ScheduledTime.Before(from) || r.ScheduledTime.After(window) {
			continue
		}
		key := r.TaskName + r.ScheduledTime.String()
		if seen[key] {
			res.Doubled++
			continue
		}
		seen[key] = true
		if r.Status != tasktype.RunSucceeded || r.ProcessStartTime == nil {
			res.Failed++
			continue
		}
		late = append(late, ms(r.ProcessStartTime.Sub(r.ScheduledTime)))
		row = append(row, ms(r.StartTime.Sub(r.ScheduledTime)))
		if !sustained {
			if d, err := b.temporal.DescribeWorkflowExecution(ctx, r.WorkflowID, r.RunID); err == nil {
				wf = append(wf, ms(d.GetWorkflowExecutionInfo().GetStartTime().AsTime().Sub(r.ScheduledTime)))
			}
		}
		spawn = append(spawn, ms(r.ProcessStartTime.Sub(r.StartTime)))
		if r.EndTime != nil && !r.EndTime.After(to) {
			res.Completed++
		}
	}
	res.Missed = max(0, tasks*len(expected)-len(seen))
	if len(late) == 0 {
		return res, fmt.Errorf("no successful runs")
	}
	res.Runs = len(late)
	res.Lateness, res.FireToRow, res.RowToProcess = summarize(late), summarize(row), summarize(spawn)
	if len(wf) > 0 {
		d := summarize(wf)
		res.FireToWorkflow = &d
	}
	if sustained {
		res.WindowS = to.Sub(from).Seconds()
		res.Offered = tasks * len(expected)
		res.Backlog = res.Offered - res.Completed
		res.RunsPerSecond = float64(res.Completed) / res.WindowS
	}
	return res, nil
}

// settledRuns waits until none of the tasks' runs since from is still
// running, and returns them.
func (b bench) settledRuns(ctx context.Context, names []string, from time.Time) ([]tasktype.Run, error) {
	var runs []tasktype.Run
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		runs = runs[:0]
		open := 0
		for _, name := range names {
			all, err := b.store.ListRuns(ctx, name, 100000)
			if err != nil {
				return nil, err
			}
			for _, r := range all {
				if !r.ScheduledTime.Before(from.Add(-time.Second)) {
					runs = append(runs, r)
					if r.Status == tasktype.RunRunning {
						open++
					}
				}
			}
		}
		if open == 0 {
			return runs, nil
		}
	}
	return runs, nil
}

// oneSecondRule is a rule that fires once, at the second after in.
func oneSecondRule(in time.Duration) string {
	at := time.Now().UTC().Add(in)
	return fmt.Sprintf("%d %d %d %d %d *", at.Second(), at.Minute(), at.Hour(), at.Day(), int(at.Month()))
}

// syncTimes measures sync on n tasks: creating them, re-syncing them
// unchanged, editing every rule, and deleting them.
func (b bench) syncTimes(ctx context.Context, syncer *tasksync.Syncer, n int) (SyncResult, error) {
	res := SyncResult{Tasks: n}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("sync-%04d", i)
	}
	fmt.Fprintf(os.Stderr, "sync: %d tasks created, re-synced, edited, deleted…\n", n)
	// Paused, on a rule that does not fire: only sync is measured.
	if err := b.insertTasks(ctx, names, "0 0 1 1 *", tasktype.StatusOff); err != nil {
		return res, err
	}
	took, err := b.waitSynced(ctx, names, false, 5*time.Minute)
	if err != nil {
		return res, fmt.Errorf("create: %w", err)
	}
	res.CreateConvergedS = took.Seconds()

	start := time.Now()
	stats, err := syncer.ReconcileAll(ctx)
	if err != nil {
		return res, fmt.Errorf("re-sync: %w", err)
	}
	res.ResyncUnchangedS, res.ResyncUnchangedWrit = time.Since(start).Seconds(), stats.Writes()

	if _, err := b.store.Pool().Exec(ctx, `UPDATE t_task_list SET rule = '0 0 2 1 *' WHERE task_name = ANY($1)`, names); err != nil {
		return res, err
	}
	if took, err = b.waitSynced(ctx, names, false, 5*time.Minute); err != nil {
		return res, fmt.Errorf("edit: %w", err)
	}
	res.EditConvergedS = took.Seconds()

	if err := b.deleteTasks(ctx, names); err != nil {
		return res, err
	}
	if took, err = b.waitSynced(ctx, names, true, 5*time.Minute); err != nil {
		return res, fmt.Errorf("delete: %w", err)
	}
	res.DeleteConvergedS = took.Seconds()
	return res, nil
}

// capacity starts runs of one trivial task straight away, rate per
// second for duration, the way a schedule's action would but without
// Temporal's scheduler: what the workers and the run path can carry.
func (b bench) capacity(ctx context.Context, c client.Client, cfg config.Config, rate int, duration time.Duration) (LatenessResult, error) {
	res := LatenessResult{Scenario: "worker-capacity", Tasks: 1, Rule: fmt.Sprintf("%d starts/s", rate)}
	names, err := b.deployTasks("capacity", 1)
	if err != nil {
		return res, err
	}
	if err := b.insertTasks(ctx, names, "0 0 1 1 *", tasktype.StatusOff); err != nil {
		return res, err
	}
	defer func() { _ = b.deleteTasks(context.WithoutCancel(ctx), names) }()
	fmt.Fprintf(os.Stderr, "worker capacity: %d runs/s started directly for %s…\n", rate, duration)
	in := workflows.RunTaskInput{TaskName: names[0], TimeZone: "UTC", TimeoutAction: tasktype.TimeoutKill,
		HeartbeatTimeout: cfg.HeartbeatTimeout, KillGrace: cfg.KillGrace, MaxRunDuration: cfg.MaxRunDuration}
	from := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	started := 0
	for i := 0; time.Since(from) < duration; i++ {
		<-tick.C
		started++
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("capacity-%d", i), TaskQueue: cfg.TaskQueue},
			workflows.RunTask, in); err != nil {
			return res, fmt.Errorf("start run %d: %w", i, err)
		}
	}
	runs, err := b.settledRuns(ctx, names, from)
	if err != nil {
		return res, err
	}
	windowEnd := from.Add(duration)
	var late []float64
	for _, r := range runs {
		if r.Status != tasktype.RunSucceeded || r.ProcessStartTime == nil || r.EndTime == nil {
			res.Failed++
			continue
		}
		late = append(late, ms(r.ProcessStartTime.Sub(r.ScheduledTime)))
		if !r.EndTime.After(windowEnd) {
			res.Completed++
		}
	}
	if len(late) == 0 {
		return res, fmt.Errorf("no successful runs")
	}
	res.Runs = len(late)
	res.Lateness = summarize(late)
	res.WindowS = duration.Seconds()
	res.Offered = started
	res.Backlog = started - res.Completed
	res.RunsPerSecond = float64(res.Completed) / res.WindowS
	return res, nil
}
