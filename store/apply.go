package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/schetask/schetask/tasktype"
)

// insertTaskSQL and updateTaskSQL write every setting of a task, from
// taskArgs, as CreateTask and UpdateTask do.
const (
	insertTaskSQL = `INSERT INTO t_task_list (task_name, rule, time_zone, timeout, timeout_action,
			task_status, overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
			run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
			retry_max, retry_delay_seconds, retry_backoff, retry_delay_max_seconds, retry_on,
			retry_timed_out, retry_lost, learn_normal, slow_margin_seconds, params)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
			$20, $21, $22, $23, $24, $25, $26, $27, $28, $29)`
	updateTaskSQL = `UPDATE t_task_list SET rule = $2, time_zone = $3, timeout = $4, timeout_action = $5,
			task_status = $6, overlap_policy = $7, owners = $8, description = $9,
			alert_channels = $10, slack_channel = $11, webhook_url = $12, status_note = $13,
			run_as = $14, memory_limit_mb = $15, cpu_limit = $16, pids_limit = $17,
			keep_runs = $18, keep_days = $19,
			retry_max = $20, retry_delay_seconds = $21, retry_backoff = $22, retry_delay_max_seconds = $23,
			retry_on = $24, retry_timed_out = $25, retry_lost = $26, learn_normal = $27, slow_margin_seconds = $28,
			params = $29
		WHERE task_name = $1`
)

// ApplyTasks makes a whole apply (definitions as code) in one
// transaction: it creates creates, replaces the settings of updates and
// deletes deletes, or, when any one fails, none of them. A create of a
// task that exists fails with ErrTaskExists, an update or delete of one
// that does not with ErrTaskNotFound. Every change is audited with the
// actor ctx carries (store.WithActor; action "apply").
func (s *Store) ApplyTasks(ctx context.Context, creates, updates []tasktype.Task, deletes []string) error {
	err := s.taskTx(ctx, func(tx pgx.Tx) error {
		for _, t := range creates {
			if _, err := tx.Exec(ctx, insertTaskSQL, taskArgs(t)...); err != nil {
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
					return fmt.Errorf("create task %q: %w", t.Name, ErrTaskExists)
				}
				return fmt.Errorf("create task %q: %w", t.Name, err)
			}
		}
		for _, t := range updates {
			tag, err := tx.Exec(ctx, updateTaskSQL, taskArgs(t)...)
			if err != nil {
				return fmt.Errorf("update task %q: %w", t.Name, err)
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("update task %q: %w", t.Name, ErrTaskNotFound)
			}
		}
		for _, name := range deletes {
			tag, err := tx.Exec(ctx, `DELETE FROM t_task_list WHERE task_name = $1`, name)
			if err != nil {
				return fmt.Errorf("delete task %q: %w", name, err)
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("delete task %q: %w", name, ErrTaskNotFound)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply tasks: %w", err)
	}
	return nil
}
