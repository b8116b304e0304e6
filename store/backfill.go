package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrBackfillNotFound is returned when no row of t_task_backfill has the id.
var ErrBackfillNotFound = errors.New("backfill not found")

// Backfill is one request to run every fire of a task's rule in a past
// range (a row of t_task_backfill).
type Backfill struct {
	ID       int64
	TaskName string
	// Start and End bound the range, both included.
	Start, End time.Time
	// Fires is how many fires the rule has in the range.
	Fires       int
	RequestedBy string
	RequestedAt time.Time
}

// AddBackfill records a backfill before it is handed to Temporal, so
// that the runs it starts find it (StartRun marks them), and returns it
// with its id and request time.
func (s *Store) AddBackfill(ctx context.Context, b Backfill) (Backfill, error) {
	err := s.pool.QueryRow(ctx, `INSERT INTO t_task_backfill (task_name, start_time, end_time, fires, requested_by)
		VALUES ($1, $2, $3, $4, $5) RETURNING id, requested_at`,
		b.TaskName, b.Start, b.End, b.Fires, b.RequestedBy).Scan(&b.ID, &b.RequestedAt)
	if err != nil {
		return b, fmt.Errorf("record backfill of %q: %w", b.TaskName, err)
	}
	return b, nil
}

// GetBackfill returns one backfill.
func (s *Store) GetBackfill(ctx context.Context, id int64) (Backfill, error) {
	var b Backfill
	err := s.pool.QueryRow(ctx, `SELECT id, task_name, start_time, end_time, fires, requested_by, requested_at
		FROM t_task_backfill WHERE id = $1`, id).
		Scan(&b.ID, &b.TaskName, &b.Start, &b.End, &b.Fires, &b.RequestedBy, &b.RequestedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("backfill %d: %w", id, ErrBackfillNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("backfill %d: %w", id, err)
	}
	return b, nil
}

// DeleteBackfill removes a backfill's record; control uses it when
// Temporal refused the backfill, so that no run is marked with it.
func (s *Store) DeleteBackfill(ctx context.Context, id int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM t_task_backfill WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete backfill %d: %w", id, err)
	}
	return nil
}
