package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RetentionTask is a task that has runs, with the retention its row sets
// (nil where it sets none, and for a deleted task).
type RetentionTask struct {
	Name     string
	KeepRuns *int
	KeepDays *int
}

// RetentionTasks returns every task name that has runs, deleted tasks
// too, with the retention of its row. The names are found by a skip scan
// of the run index, so a long history costs one index probe per task.
func (s *Store) RetentionTasks(ctx context.Context) ([]RetentionTask, error) {
	rows, err := s.pool.Query(ctx, `
		WITH RECURSIVE names AS (
			(SELECT task_name FROM t_task_exec_list ORDER BY task_name LIMIT 1)
			UNION ALL
			SELECT (SELECT e.task_name FROM t_task_exec_list e
				WHERE e.task_name > n.task_name ORDER BY e.task_name LIMIT 1)
			FROM names n WHERE n.task_name IS NOT NULL
		)
		SELECT n.task_name, t.keep_runs, t.keep_days
		FROM names n LEFT JOIN t_task_list t ON t.task_name = n.task_name
		WHERE n.task_name IS NOT NULL ORDER BY n.task_name`)
	if err != nil {
		return nil, fmt.Errorf("retention tasks: %w", err)
	}
	tasks, err := collect(rows, func(row pgx.Row) (RetentionTask, error) {
		var t RetentionTask
		err := row.Scan(&t.Name, &t.KeepRuns, &t.KeepDays)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("retention tasks: %w", err)
	}
	return tasks, nil
}

// ExpireRunsParams says which of one task's runs retention lets go.
type ExpireRunsParams struct {
	TaskName string
	// KeepRuns keeps the task's newest this many runs; 0 keeps any number.
	KeepRuns int
	// Before lets runs started before it go; zero lets none go by age.
	Before time.Time
	// Limit is the most runs one call deletes.
	Limit int
	// AfterID skips the runs up to it: the last id the previous batch of
	// the same pass deleted, so a batch does not walk again the index
	// entries of the rows the batches before it deleted.
	AfterID int64
}

// ExpiredRun is a run DeleteExpiredRuns deleted: what the janitor needs
// to remove its files.
type ExpiredRun struct {
	ID          int64
	TaskName    string
	Version     string
	LogPath     string
	HistoryPath string
}

// lostRunReapWindow is how long a lost run stays for the orphan reaper
// (OrphanCandidates), whatever the retention.
const lostRunReapWindow = "1 hour"

// DeleteExpiredRuns deletes, oldest id first and at most p.Limit, the
// task's runs that are not among its p.KeepRuns newest or started before
// p.Before (a run goes when either says so), with their alert rows, and
// returns them and how many alerts went. It never deletes a run that has
// not ended, a lost run the orphan reaper may still need, nor the task's
// newest succeeded run with a history folder. Rows another transaction
// holds are skipped, so run inserts and updates never wait on it.
func (s *Store) DeleteExpiredRuns(ctx context.Context, p ExpireRunsParams) ([]ExpiredRun, int64, error) {
	var before *time.Time
	if !p.Before.IsZero() {
		before = &p.Before
	}
	rows, err := s.pool.Query(ctx, `
		WITH newest_kept AS (
			SELECT start_time, id FROM t_task_exec_list WHERE task_name = $1
			ORDER BY start_time DESC, id DESC OFFSET greatest($2::int, 1) - 1 LIMIT 1
		), last_history AS (
			SELECT id FROM t_task_exec_list
			WHERE task_name = $1 AND status = 'succeeded' AND history_path <> ''
			ORDER BY start_time DESC, id DESC LIMIT 1
		), doomed AS (
			SELECT id FROM t_task_exec_list
			WHERE task_name = $1 AND id > $5 AND status <> 'running' AND end_time IS NOT NULL
			  AND NOT (status = 'lost' AND end_time > now() - interval '`+lostRunReapWindow+`')
			  AND id NOT IN (SELECT id FROM last_history)
			  AND (($2::int > 0 AND (start_time, id) < (SELECT start_time, id FROM newest_kept))
			       OR ($3::timestamptz IS NOT NULL AND start_time < $3::timestamptz))
			ORDER BY id LIMIT $4
			FOR UPDATE SKIP LOCKED
		), alerts AS (
			DELETE FROM t_task_alert WHERE exec_id IN (SELECT id FROM doomed) RETURNING 1
		), runs AS (
			DELETE FROM t_task_exec_list WHERE id IN (SELECT id FROM doomed)
			RETURNING id, task_name, task_version, log_path, history_path
		)
		SELECT id, task_name, task_version, log_path, history_path, (SELECT count(*) FROM alerts)
		FROM runs ORDER BY id`, p.TaskName, p.KeepRuns, before, p.Limit, p.AfterID)
	if err != nil {
		return nil, 0, fmt.Errorf("delete expired runs of %q: %w", p.TaskName, err)
	}
	var alerts int64
	runs, err := collect(rows, func(row pgx.Row) (ExpiredRun, error) {
		var r ExpiredRun
		err := row.Scan(&r.ID, &r.TaskName, &r.Version, &r.LogPath, &r.HistoryPath, &alerts)
		return r, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("delete expired runs of %q: %w", p.TaskName, err)
	}
	return runs, alerts, nil
}

// DeleteExpiredSessionBatch deletes at most limit console sessions past
// their expiry and returns how many.
func (s *Store) DeleteExpiredSessionBatch(ctx context.Context, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM t_web_session WHERE key IN (
		SELECT key FROM t_web_session WHERE expires_at < now() LIMIT $1 FOR UPDATE SKIP LOCKED)`, limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteAuditBefore deletes at most limit audit rows written before
// before, oldest first, and returns how many.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM t_audit WHERE id IN (
		SELECT id FROM t_audit WHERE at < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
	if err != nil {
		return 0, fmt.Errorf("delete old audit rows: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteOldChainWaits deletes at most limit chain-wait rows (t_chain_wait)
// that settled, started or gave up, more than their task's keep_days ago,
// counting a day as day: defaultDays for a task that sets none or no
// longer exists, and no limit where that is 0. A gate still waiting keeps
// its row. It returns how many went.
func (s *Store) DeleteOldChainWaits(ctx context.Context, now time.Time, defaultDays int, day time.Duration, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM t_chain_wait WHERE id IN (
		SELECT w.id FROM t_chain_wait w LEFT JOIN t_task_list t ON t.task_name = w.task_name
		WHERE w.state <> 'waiting' AND coalesce(t.keep_days, $2) > 0
		  AND w.updated_at < $1::timestamptz - coalesce(t.keep_days, $2) * $3::interval
		ORDER BY w.id LIMIT $4 FOR UPDATE OF w SKIP LOCKED)`, now, defaultDays, day, limit)
	if err != nil {
		return 0, fmt.Errorf("delete old chain waits: %w", err)
	}
	return tag.RowsAffected(), nil
}
