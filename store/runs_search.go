package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/schetask/schetask/tasktype"
)

// RunFilter selects runs for the run list. Zero fields select everything.
type RunFilter struct {
	TaskName string
	Status   tasktype.RunStatus
	ExitCode *int
	// From and To bound start_time (From inclusive, To exclusive).
	From, To *time.Time
	// After continues a listing after the last run of the previous page.
	After *RunCursor
	// Limit is the page size.
	Limit int
}

// RunCursor is a position in the run list, newest first: keyset
// pagination stays fast however deep the page.
type RunCursor struct {
	StartTime time.Time
	ID        int64
}

// SearchRuns returns one page of runs, newest first, and the cursor of the
// next page (nil on the last).
func (s *Store) SearchRuns(ctx context.Context, f RunFilter) ([]tasktype.Run, *RunCursor, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.TaskName != "" {
		add("task_name = $%d", f.TaskName)
	}
	if f.Status != "" {
		add("status = $%d", string(f.Status))
	}
	if f.ExitCode != nil {
		add("exit_code = $%d", *f.ExitCode)
	}
	if f.From != nil {
		add("start_time >= $%d", *f.From)
	}
	if f.To != nil {
		add("start_time < $%d", *f.To)
	}
	if f.After != nil {
		args = append(args, f.After.StartTime, f.After.ID)
		where = append(where, fmt.Sprintf("(start_time, id) < ($%d, $%d)", len(args)-1, len(args)))
	}
	q := `SELECT ` + runColumns + ` FROM t_task_exec_list`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit+1)
	q += fmt.Sprintf(" ORDER BY start_time DESC, id DESC LIMIT $%d", len(args))
	runs, err := s.queryRuns(ctx, "search runs", q, args...)
	if err != nil {
		return nil, nil, err
	}
	if len(runs) <= f.Limit {
		return runs, nil, nil
	}
	runs = runs[:f.Limit]
	last := runs[len(runs)-1]
	return runs, &RunCursor{StartTime: last.StartTime, ID: last.ID}, nil
}

// RunTaskNames returns, by name, every task the run list may be filtered
// by: the tasks that exist and those deleted (whose runs stay listed).
func (s *Store) RunTaskNames(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT task_name FROM t_task_list
		UNION SELECT DISTINCT task_name FROM t_task_tombstone ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list run task names: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list run task names: %w", err)
	}
	return names, nil
}
