package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/schetask/schetask/tasktype"
)

// The deadline check's reads (monitor.CheckDeadlines): a task's runs by
// logical date, an upstream's runs by scheduled time, and which deadline
// alerts were raised already.

// RunsOfDates lists a task's runs whose logical date is in [from, to],
// oldest first. A run recorded without a logical date (before chains
// existed) is listed when its scheduled time is in [from, scheduledTo):
// the caller reckons its date.
func (s *Store) RunsOfDates(ctx context.Context, name string, from, to, scheduledTo time.Time) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, fmt.Sprintf("runs of %q by logical date", name), `SELECT `+runColumns+`
		FROM t_task_exec_list WHERE task_name = $1 AND (logical_date BETWEEN $2 AND $3
			OR logical_date IS NULL AND scheduled_time >= $2 AND scheduled_time < $4)
		ORDER BY id`, name, from, to, scheduledTo)
}

// RunsScheduledIn lists a task's runs scheduled in [from, to), oldest
// first.
func (s *Store) RunsScheduledIn(ctx context.Context, name string, from, to time.Time) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, fmt.Sprintf("runs of %q by scheduled time", name), `SELECT `+runColumns+`
		FROM t_task_exec_list WHERE task_name = $1 AND scheduled_time >= $2 AND scheduled_time < $3
		ORDER BY id`, name, from, to)
}

// RecordedAlertKeys returns which of keys name an alert already recorded.
func (s *Store) RecordedAlertKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT dedupe_key FROM t_task_alert WHERE dedupe_key = ANY ($1)`, keys)
	if err != nil {
		return nil, fmt.Errorf("recorded alert keys: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("recorded alert keys: %w", err)
	}
	out := make(map[string]bool, len(found))
	for _, k := range found {
		out[k] = true
	}
	return out, nil
}
