package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/schetask/schetask/tasktype"
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
				return fmt.Errorf("create task %q: %w", t.Name, chainCycle(t, err))
			}
		}
		for _, t := range updates {
			tag, err := tx.Exec(ctx, updateTaskSQL, taskArgs(t)...)
			if err != nil {
				return fmt.Errorf("update task %q: %w", t.Name, chainCycle(t, err))
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
