package store

import (
	"context"
	"fmt"
	"time"
)

// SyncState is what the sync service last did for a task (t_task_sync).
type SyncState struct {
	TaskName   string
	ScheduleID string
	SpecHash   string
	Error      string
	SyncedAt   time.Time
}

// SetSyncState records the outcome of syncing one task.
func (s *Store) SetSyncState(ctx context.Context, st SyncState) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO t_task_sync (task_name, schedule_id, spec_hash, error, synced_at)
		VALUES ($1, $2, $3, $4, now())
		ON CONFLICT (task_name) DO UPDATE SET schedule_id = $2, spec_hash = $3, error = $4, synced_at = now()`,
		st.TaskName, st.ScheduleID, st.SpecHash, st.Error)
	if err != nil {
		return fmt.Errorf("set sync state of %q: %w", st.TaskName, err)
	}
	return nil
}

// DeleteSyncState forgets a deleted task's sync state; it reports whether
// there was one, so that a deletion is acted on once.
func (s *Store) DeleteSyncState(ctx context.Context, name string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM t_task_sync WHERE task_name = $1`, name)
	if err != nil {
		return false, fmt.Errorf("delete sync state of %q: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}

// GetSyncState returns a task's sync state; ok is false when there is none.
func (s *Store) GetSyncState(ctx context.Context, name string) (st SyncState, ok bool, err error) {
	rows, err := s.pool.Query(ctx, `SELECT task_name, schedule_id, spec_hash, error, synced_at FROM t_task_sync WHERE task_name = $1`, name)
	if err != nil {
		return st, false, fmt.Errorf("get sync state of %q: %w", name, err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&st.TaskName, &st.ScheduleID, &st.SpecHash, &st.Error, &st.SyncedAt); err != nil {
			return st, false, fmt.Errorf("get sync state of %q: %w", name, err)
		}
		ok = true
	}
	return st, ok, rows.Err()
}
