package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/schetask/schetask/tasktype"
)

// FireRuns returns every run of one fire, found by its workflow id: its
// attempts in order (and, should the workflow have been reset or continued,
// the runs of each of its workflow runs in the order they started).
func (s *Store) FireRuns(ctx context.Context, workflowID string) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, fmt.Sprintf("runs of workflow %q", workflowID), `SELECT `+runColumns+`
		FROM t_task_exec_list WHERE workflow_id = $1 ORDER BY start_time, attempt, id`, workflowID)
}

// RunByVersion returns a task's run by its version (task_version);
// ErrRunNotFound when the task has none of that version.
func (s *Store) RunByVersion(ctx context.Context, taskName, version string) (tasktype.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runColumns+` FROM t_task_exec_list
		WHERE task_name = $1 AND task_version = $2`, taskName, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("run %s of %q: %w", version, taskName, ErrRunNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("run %s of %q: %w", version, taskName, err)
	}
	return r, nil
}
