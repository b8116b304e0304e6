package store

import (
	"context"
	"fmt"
	"time"

	"github.com/schetask/schetask/tasktype"
)

// GateArrival is one upstream run's end as a chain gate counted it
// (t_chain_wait.arrived, by upstream task name).
type GateArrival struct {
	RunID      int64              `json:"run_id"`
	Status     tasktype.RunStatus `json:"status"`
	WorkflowID string             `json:"workflow_id"`
}

// Chain wait states (t_chain_wait.state).
const (
	ChainWaiting    = "waiting"
	ChainStarted    = "started"
	ChainNotRunning = "not_running"
)

// SetChainWaitParams is what a chain gate knows of a downstream task's
// logical date: the upstream runs that ended, and whether the task
// started, will not run (and why) or still waits.
type SetChainWaitParams struct {
	TaskName    string
	LogicalDate time.Time
	Condition   tasktype.AfterCondition
	Upstreams   []string
	Arrived     map[string]GateArrival
	State       string
	Reason      string
	// WorkflowID is the gate's own workflow id.
	WorkflowID string
}

// SetChainWait records the gate's state of a task's logical date: one
// row per task and date, replaced at every change, but a date whose run
// started stays started (a later failed re-run of an upstream, which
// opens a new gate, does not undo it). It is idempotent.
func (s *Store) SetChainWait(ctx context.Context, p SetChainWaitParams) error {
	arrived := p.Arrived
	if arrived == nil {
		arrived = map[string]GateArrival{}
	}
	upstreams := p.Upstreams
	if upstreams == nil {
		upstreams = []string{}
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO t_chain_wait (task_name, logical_date, condition, upstreams, arrived, state, reason, workflow_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (task_name, logical_date) DO UPDATE SET condition = EXCLUDED.condition,
			upstreams = EXCLUDED.upstreams, arrived = EXCLUDED.arrived, state = EXCLUDED.state,
			reason = EXCLUDED.reason, workflow_id = EXCLUDED.workflow_id, updated_at = now()
		WHERE t_chain_wait.state <> 'started' OR EXCLUDED.state = 'started'`,
		p.TaskName, p.LogicalDate, string(p.Condition), upstreams, arrived, p.State, p.Reason, p.WorkflowID)
	if err != nil {
		return fmt.Errorf("record chain wait of %q for %s: %w", p.TaskName, p.LogicalDate.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// ChainWaitState is a t_chain_wait row as the gate wrote it.
type ChainWaitState struct {
	SetChainWaitParams
	UpdatedAt time.Time
}

// GetChainWait reads the gate's state of a task's logical date; ok is
// false when no upstream of it has ended for that date.
func (s *Store) GetChainWait(ctx context.Context, taskName string, logicalDate time.Time) (w ChainWaitState, ok bool, err error) {
	rows, err := s.pool.Query(ctx, `SELECT task_name, logical_date, condition, upstreams, arrived, state, reason,
		workflow_id, updated_at FROM t_chain_wait WHERE task_name = $1 AND logical_date = $2`, taskName, logicalDate)
	if err != nil {
		return w, false, fmt.Errorf("read chain wait of %q: %w", taskName, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return w, false, rows.Err()
	}
	var cond string
	if err := rows.Scan(&w.TaskName, &w.LogicalDate, &cond, &w.Upstreams, &w.Arrived, &w.State, &w.Reason,
		&w.WorkflowID, &w.UpdatedAt); err != nil {
		return w, false, fmt.Errorf("read chain wait of %q: %w", taskName, err)
	}
	w.Condition = tasktype.AfterCondition(cond)
	return w, true, nil
}

// RunsOfDate lists a task's runs for one logical date, oldest
// first.
func (s *Store) RunsOfDate(ctx context.Context, taskName string, logicalDate time.Time) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, "runs for logical date", `SELECT `+runColumns+` FROM t_task_exec_list
		WHERE task_name = $1 AND logical_date = $2 ORDER BY id`, taskName, logicalDate)
}

// HasChain reports whether the end of a run of the task concerns a chain:
// some task runs after it, or, when failed, it names tasks to run on its
// failure. Most tasks are in no chain, and this one query spares their
// runs' ends the reading of every task.
func (s *Store) HasChain(ctx context.Context, taskName string, failed bool) (bool, error) {
	var has bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM t_task_list WHERE $1 = ANY (after))
		OR ($2 AND EXISTS (SELECT 1 FROM t_task_list WHERE task_name = $1 AND cardinality(on_failure) > 0))`,
		taskName, failed).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("chain of %q: %w", taskName, err)
	}
	return has, nil
}
