package store

import (
	"context"
	"fmt"
)

// ListAlertsPage returns a page of alerts, newest first: a task's ("" for
// every task's), older than the alert before (0 for the newest), at most
// limit. The id of the page's last alert is the next page's before.
func (s *Store) ListAlertsPage(ctx context.Context, taskName string, before int64, limit int) ([]AlertRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM t_task_alert
		WHERE ($1 = '' OR task_name = $1) AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, taskName, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	alerts, err := collect(rows, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return alerts, nil
}
